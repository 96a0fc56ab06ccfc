"""observer-agent: daily and weekly reflections -> Coda Daily Thread."""

__version__ = "0.1.0"
