"""One module per rule file, same name: each holds the entry points of its rules' commands."""
