"""Privacy requests (GDPR, LGPD): the job that gathers every service's part, and the file."""
