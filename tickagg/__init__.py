"""The command line above every process: ``tickagg ...`` (cli.py), the supervisor of ``tickagg run``
(supervisor.py, run_command.py) and its status line (run_status.py)."""
