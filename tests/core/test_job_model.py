"""The job record survives the trip through a Redis hash."""

from docqueue.errors import ErrorCode
from docqueue.jobs.commands import fingerprint
from docqueue.jobs.model import Job, JobOptions, JobState, TextNormalization


def make_job(**overrides: object) -> Job:
    fields: dict[str, object] = {
        "task_id": "a" * 32,
        "tenant": "t",
        "filename": "x.pdf",
        "media_type": "application/pdf",
        "size_bytes": 10,
        "sha256": "0" * 64,
        "options": JobOptions(),
        "blob_key": "uploads/" + "a" * 32,
        "created_at": 1.5,
        "updated_at": 1.5,
    }
    return Job.model_validate(fields | overrides)


def test_round_trip_through_redis_hash() -> None:
    job = make_job(state=JobState.FAILED, error_code=ErrorCode.CORRUPT_DOCUMENT, error_message="bad")
    raw = {key.encode(): value.encode() for key, value in job.to_redis().items()}
    assert Job.from_redis(raw) == job
    assert "result_key" not in job.to_redis()


def test_percent_and_retryable() -> None:
    assert make_job(pages_done=5, pages_total=10).percent == 49.5
    assert make_job(state=JobState.SUCCEEDED).percent == 100.0
    assert make_job(error_code=ErrorCode.TIMEOUT).error_retryable
    assert not make_job(error_code=ErrorCode.ENCRYPTED_DOCUMENT).error_retryable


def test_fingerprint_depends_on_options() -> None:
    assert fingerprint("f" * 64, JobOptions()) == fingerprint("f" * 64, JobOptions())
    assert fingerprint("f" * 64, JobOptions()) != fingerprint("f" * 64, JobOptions(chunk_size=500))


def test_text_normalization_is_part_of_dedupe_and_old_records_stay_raw() -> None:
    # A record written before the option existed reads as raw text and keeps its fingerprint.
    assert JobOptions().text_normalization == TextNormalization.NONE
    assert "text_normalization" not in JobOptions().canonical()
    standard = JobOptions(text_normalization=TextNormalization.STANDARD)
    assert '"text_normalization":"standard"' in standard.canonical()
    assert fingerprint("f" * 64, standard) != fingerprint("f" * 64, JobOptions())
