"""Tips: reports from residents, their lifecycle, the thread with the reporter, the audit log."""
