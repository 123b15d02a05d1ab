"""The round's lifecycle, at the top of the apps: one doorway for every step a round takes."""
