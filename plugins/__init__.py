"""Built-in model-backend plugins (installed as `moralbench.plugins`)."""
