"""Thin CLI command modules (`configure(parser)` + `main(args)`) for the library, predict, score and serve."""
