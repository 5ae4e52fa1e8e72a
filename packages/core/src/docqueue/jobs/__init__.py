"""The job: the durable record of one document's way through docqueue."""

from docqueue.jobs.model import TERMINAL_STATES, Job, JobOptions, JobState, Stage

__all__ = ["TERMINAL_STATES", "Job", "JobOptions", "JobState", "Stage"]
