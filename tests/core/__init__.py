"""What is not one flow's: money and time, events and commands, state, refusals, files and
hardening, the audit, the core stateful machine and two processes racing on one file."""
