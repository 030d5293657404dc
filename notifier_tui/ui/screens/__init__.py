"""The app's screens: one module and one ``.tcss`` per screen."""
