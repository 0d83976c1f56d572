from vidpipe import aws


def test_health_ok_when_database_and_queue_answer(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "queue": "ok"}


def test_health_503_when_the_queue_is_gone(client, settings):
    aws.client("sqs").delete_queue(QueueUrl=settings.jobs_queue_url)
    response = client.get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["queue"] == "unavailable"
    assert "queue" in body["detail"]


def test_health_503_when_the_database_is_gone(client, app):
    app.state.engine.dispose()
    app.state.engine.pool._creator = lambda *a, **k: (_ for _ in ()).throw(OSError("db down"))
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"
