"""Grading untrusted notebooks: run each in a sandbox, mark its answers outside it.

- ``sandbox``: the bubblewrap sandbox and its limits;
- ``run_notebook``: the script that runs inside it (cells, then probes);
- ``plan``: probes (what to ask) and checks (how to mark), read strictly;
- ``assignments``: the checks of each assignment; ``models``: Keras files in safe mode;
- ``flags``: reference code an answer uses; ``report``: the CSV and written answers;
- ``grade``: one submission, a class.
"""
