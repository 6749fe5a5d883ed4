"""Recipes: straight setup -> train -> save scripts, one per stage, composed from small components."""
