"""The ``qscen`` command: runs the flows (``flows/``), so it sits above them and may import Prefect.

The library (``quantum_scenarios``) never imports Prefect; the command line lives here.
"""
