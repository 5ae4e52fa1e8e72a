"""`redis+sentinel://` URLs: one parser, and each client's form of what it parsed."""

import json
import ssl

import pytest
import redis.asyncio.sentinel
import redis.sentinel
from pydantic import SecretStr, ValidationError

from docqueue.celery_app import celery_config
from docqueue.redis_url import (
    DEFAULT_SENTINEL_PORT,
    InvalidRedisUrl,
    SentinelTarget,
    async_redis_client,
    check_redis_url,
    kombu_broker,
    mask_url,
    parse_sentinel_url,
    redbeat_connection,
    redis_client,
)
from docqueue.settings import Settings
from docqueue_beat.schedule import beat_config
from docqueue_beat.settings import BeatSettings

URL = "redis+sentinel://:m%40ster@s1:26380,s2,[::1]:26381/docqueue/3"


def test_every_part_of_a_sentinel_url_is_parsed() -> None:
    target = parse_sentinel_url(URL)
    assert target == SentinelTarget(
        sentinels=(("s1", 26380), ("s2", DEFAULT_SENTINEL_PORT), ("::1", 26381)),
        master_name="docqueue",
        db=3,
        username=None,
        password="m@ster",
        tls=False,
    )
    assert parse_sentinel_url("rediss+sentinel://u:p@s1:1/m").tls
    assert parse_sentinel_url("rediss+sentinel://u:p@s1:1/m").username == "u"
    assert parse_sentinel_url("redis+sentinel://s1/m").db == 0
    assert parse_sentinel_url("redis+sentinel://s1/m/").db == 0


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("redis+sentinel://s1:26379", "master name is missing"),
        ("redis+sentinel://s1:26379/", "master name is missing"),
        ("redis+sentinel://s1:26379/m/x", "is not a number"),
        ("redis+sentinel://s1:26379/m/0/extra", "/<master_name>/<db>"),
        ("redis+sentinel://s1:99999/m", "not a port number"),
        ("redis+sentinel://s1:port/m", "not a port number"),
        ("redis+sentinel://s1:1,,s2:2/m", "host is empty"),
        ("redis+sentinel://:1/m", "has no host"),
        ("redis+sentinel://[::1/m", "is not host:port"),
        ("redis+sentinel://s1/m?db=1", "no query parameters"),
    ],
)
def test_an_invalid_sentinel_url_names_the_setting_and_hides_the_password(url: str, why: str) -> None:
    url = url.replace("://", "://:hunter2@", 1)
    with pytest.raises(InvalidRedisUrl) as refused:
        check_redis_url(url, "DOCQUEUE_REDIS_URL")
    message = str(refused.value)
    assert message.startswith("DOCQUEUE_REDIS_URL: ")
    assert why in message
    assert "hunter2" not in message


def test_settings_refuse_to_start_on_a_bad_redis_url_naming_the_variable() -> None:
    with pytest.raises(ValidationError, match=r"DOCQUEUE_REDIS_URL \(or REDIS_URL\)"):
        Settings(redis_url="redis+sentinel://s1:26379")
    with pytest.raises(ValidationError, match=r"DOCQUEUE_BROKER_URL: .* is not a Redis URL"):
        Settings(broker_url="amqp://guest@rabbit//")
    with pytest.raises(ValidationError, match="DOCQUEUE_STORAGE_URL"):
        Settings(storage_url="redis+sentinel://s1/")
    assert Settings(redis_url=URL).redis_url == URL
    assert Settings(storage_url="file:///tmp/x").storage_url == "file:///tmp/x"


def test_the_password_of_a_sentinel_url_is_masked() -> None:
    assert mask_url(URL) == "redis+sentinel://:***@s1:26380,s2,[::1]:26381/docqueue/3"


def test_redis_py_clients_follow_the_master_through_the_sentinels() -> None:
    client = redis_client(URL, "sentinel-secret", socket_timeout=10)
    pool = client.connection_pool
    assert isinstance(pool, redis.sentinel.SentinelConnectionPool)
    assert pool.service_name == "docqueue"
    assert pool.connection_kwargs["db"] == 3
    assert pool.connection_kwargs["password"] == "m@ster"
    sentinel = pool.sentinel_manager
    assert [(s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
            for s in sentinel.sentinels] == [("s1", 26380), ("s2", 26379), ("::1", 26381)]  # fmt: skip
    sentinel_kwargs = sentinel.sentinels[0].connection_pool.connection_kwargs
    assert sentinel_kwargs["password"] == "sentinel-secret"
    # A dead sentinel is skipped after two seconds, not after the client's ten, and at once when
    # it refuses the connection (no retries: the next sentinel is asked instead).
    assert sentinel_kwargs["socket_timeout"] == 2.0
    assert sentinel_kwargs["retry"].get_retries() == 0
    aclient = async_redis_client(URL, None, socket_timeout=5)
    assert isinstance(aclient.connection_pool, redis.asyncio.sentinel.SentinelConnectionPool)
    asentinel = aclient.connection_pool.sentinel_manager.sentinels[0]
    assert asentinel.connection_pool.connection_kwargs.get("password") is None


def test_a_plain_url_gives_a_plain_client() -> None:
    client = redis_client("redis://127.0.0.1:6390/4", "ignored", socket_timeout=3)
    assert not isinstance(client.connection_pool, redis.sentinel.SentinelConnectionPool)
    assert client.connection_pool.connection_kwargs["db"] == 4


def test_kombu_gets_its_sentinel_form_with_the_master_name_as_an_option() -> None:
    broker = kombu_broker(URL, "sentinel-secret")
    assert broker.sentinel
    assert broker.url == (
        "sentinel://:m%40ster@s1:26380/3;sentinel://:m%40ster@s2:26379/3;sentinel://:m%40ster@[::1]:26381/3"
    )
    assert broker.transport_options["master_name"] == "docqueue"
    assert broker.transport_options["sentinel_kwargs"]["password"] == "sentinel-secret"
    assert broker.use_ssl is None
    # The celery-exporter's --broker-transport-option form: JSON values.
    arguments = dict(argument.split("=", 1) for argument in broker.option_arguments())
    assert arguments["master_name"] == "docqueue"
    exported = json.loads(arguments["sentinel_kwargs"])
    assert exported["password"] == "sentinel-secret"
    assert "retry" not in exported
    tls = kombu_broker("rediss+sentinel://s1/m")
    assert tls.use_ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    assert tls.transport_options["sentinel_kwargs"]["ssl"] is True
    assert kombu_broker("redis://r/0").url == "redis://r/0"


def test_celery_takes_the_sentinel_form_and_keeps_its_own_options() -> None:
    config = celery_config(Settings(redis_url=URL, redis_sentinel_password=SecretStr("sentinel-secret")))
    assert config["broker_url"].startswith("sentinel://:m%40ster@s1:26380/3;")
    options = config["broker_transport_options"]
    assert options["master_name"] == "docqueue"
    assert options["visibility_timeout"] > 0
    assert options["sentinel_kwargs"]["password"] == "sentinel-secret"


def test_redbeat_uses_its_own_sentinel_support() -> None:
    config = redbeat_connection(URL, None, {"socket_timeout": 10})
    assert config["redbeat_redis_url"] == "redis-sentinel://"
    options = config["redbeat_redis_options"]
    assert options["sentinels"] == [("s1", 26380), ("s2", 26379), ("::1", 26381)]
    assert (options["service_name"], options["db"], options["password"]) == ("docqueue", 3, "m@ster")
    beat = beat_config(BeatSettings(redis_url=URL))
    assert beat["redbeat_redis_options"]["service_name"] == "docqueue"
    plain = beat_config(BeatSettings(redis_url="redis://r:6379/1"))
    assert plain["redbeat_redis_url"] == "redis://r:6379/1"
