"""Modal dialogs: forms that validate before they save, and yes/no questions."""
