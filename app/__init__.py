"""Streamlit app: a thin shell over the curator core."""
