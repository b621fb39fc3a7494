"""Built-in task plugins (installed as `moralbench.tasks`)."""
