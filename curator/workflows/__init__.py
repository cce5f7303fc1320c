"""Workflows: orchestration above the core and the generators (read workspace -> compute -> write).

Each module here reads a workspace through the store, calls the pure core (or the generator
stage) and writes the results back; nothing below this layer imports it.
"""
