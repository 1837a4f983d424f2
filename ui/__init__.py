"""Streamlit-free presentation layer: strings, number formatting, view state, figures, export.

Nothing here imports Streamlit, so every function is tested without a browser.
"""
