"""Tables, plots, videos and console summaries a person reads."""
