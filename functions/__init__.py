"""HTTP handlers: parse -> call domain -> respond."""
