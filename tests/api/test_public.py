import uuid
from datetime import timedelta

from sqlalchemy import update

from vidpipe.db.models import User


def _public_video(make_player, upload, process, **player):
    owner = make_player(**player)
    video_id = upload(owner, title=f"{owner.first_name}'s drill").json()["video_id"]
    process(video_id)
    return owner, video_id


def test_public_list_shows_only_processed_videos_with_contract_fields(
    client, make_player, upload, process
):
    owner, public_id = _public_video(
        make_player, upload, process, first="Ana", last="Perez", city="Cali"
    )
    upload(owner, title="still processing")
    response = client.get("/api/public/videos")
    assert response.status_code == 200
    (row,) = response.json()
    # The contract's fields plus the additive poster_url (the web app's gallery shows posters).
    assert set(row) == {
        "video_id",
        "title",
        "player",
        "city",
        "processed_url",
        "votes",
        "poster_url",
    }
    assert row["video_id"] == public_id
    assert row["player"] == "Ana Perez" and row["city"] == "Cali" and row["votes"] == 0
    assert f"processed/{public_id}/clip.mp4" in row["processed_url"]
    assert f"processed/{public_id}/poster.jpg" in row["poster_url"]


def test_public_list_filters_by_city_pages_and_marks_own_votes(
    client, make_player, upload, process
):
    _, cali = _public_video(make_player, upload, process, city="Cali")
    _, bogota = _public_video(make_player, upload, process, city="Bogota")
    voter = make_player()
    assert (
        client.post(f"/api/public/videos/{bogota}/vote", headers=voter.headers).status_code == 200
    )
    assert [r["video_id"] for r in client.get("/api/public/videos?city=cali").json()] == [cali]
    first_page = client.get("/api/public/videos?page=1&page_size=1").json()
    second_page = client.get("/api/public/videos?page=2&page_size=1").json()
    assert [r["video_id"] for r in first_page + second_page] == [bogota, cali]  # most votes first
    assert client.get("/api/public/videos?page=3&page_size=1").json() == []
    mine = {
        r["video_id"]: r["voted"]
        for r in client.get("/api/public/videos", headers=voter.headers).json()
    }
    assert mine == {bogota: True, cali: False}
    bad = client.get("/api/public/videos", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_paging_bounds_are_400(client):
    for path in ("/api/public/videos", "/api/public/rankings"):
        for query in ("page=0", "page_size=101", "page_size=0", "page=abc", "page=-1"):
            response = client.get(f"{path}?{query}")
            assert response.status_code == 400, (path, query)
            assert isinstance(response.json()["detail"], str)
        assert client.get(f"{path}?page_size=100").status_code == 200


def test_vote_rules(client, make_player, upload, process):
    owner, video_id = _public_video(make_player, upload, process)
    voter = make_player(first="Ben")
    path = f"/api/public/videos/{video_id}/vote"
    assert client.post(path).status_code == 401
    first = client.post(path, headers=voter.headers)
    assert first.status_code == 200 and set(first.json()) == {"message"}
    again = client.post(path, headers=voter.headers)
    assert again.status_code == 400 and "already voted" in again.json()["detail"]
    own = client.post(path, headers=owner.headers)
    assert own.status_code == 400 and "own video" in own.json()["detail"]
    assert (
        client.post(f"/api/public/videos/{uuid.uuid4()}/vote", headers=voter.headers).status_code
        == 404
    )
    assert client.post("/api/public/videos/xyz/vote", headers=voter.headers).status_code == 404
    pending = upload(owner).json()["video_id"]
    not_public = client.post(f"/api/public/videos/{pending}/vote", headers=voter.headers)
    assert not_public.status_code == 404
    assert client.get(f"/api/videos/{video_id}", headers=owner.headers).json()["votes"] == 1


def test_rankings_order_ties_city_and_paging(client, db, make_player, upload, process):
    # Ana and Ben tie on 2 votes; Ben got his first vote earlier, so Ben ranks first.
    ana, ana_video = _public_video(
        make_player, upload, process, first="Ana", last="Zed", city="Cali"
    )
    ben, ben_video = _public_video(
        make_player, upload, process, first="Ben", last="Young", city="Bogota"
    )
    cid, cid_video = _public_video(
        make_player, upload, process, first="Cid", last="Xu", city="Cali"
    )
    _public_video(make_player, upload, process, first="Dan", last="Abe", city="Cali")  # no votes
    make_player(first="Eve", city="Cali")  # no public video: not ranked
    voters = [make_player(first=f"V{i}") for i in range(3)]
    for voter in voters[:2]:
        client.post(f"/api/public/videos/{ben_video}/vote", headers=voter.headers)
    for voter in voters[:2]:
        client.post(f"/api/public/videos/{ana_video}/vote", headers=voter.headers)
    for voter in voters:
        client.post(f"/api/public/videos/{cid_video}/vote", headers=voter.headers)
    # Make the tie-break explicit and independent of clock resolution.
    ben_first = db.get(User, uuid.UUID(ben.id)).first_vote_at
    db.execute(
        update(User)
        .where(User.id == uuid.UUID(ana.id))
        .values(first_vote_at=ben_first + timedelta(seconds=5))
    )
    db.commit()

    response = client.get("/api/public/rankings")
    assert response.status_code == 200
    assert response.json() == [
        {"position": 1, "username": "Cid Xu", "city": "Cali", "votes": 3},
        {"position": 2, "username": "Ben Young", "city": "Bogota", "votes": 2},
        {"position": 3, "username": "Ana Zed", "city": "Cali", "votes": 2},
        {"position": 4, "username": "Dan Abe", "city": "Cali", "votes": 0},
    ]
    cali = client.get("/api/public/rankings?city=CALI").json()
    assert [(r["position"], r["username"]) for r in cali] == [
        (1, "Cid Xu"),
        (2, "Ana Zed"),
        (3, "Dan Abe"),
    ]
    page2 = client.get("/api/public/rankings?page=2&page_size=2").json()
    assert [(r["position"], r["username"]) for r in page2] == [(3, "Ana Zed"), (4, "Dan Abe")]
    assert client.get("/api/public/rankings?city=Nowhere").json() == []


def test_equal_votes_and_first_vote_fall_back_to_name(client, db, make_player, upload, process):
    zed, _ = _public_video(make_player, upload, process, first="Zed", last="A")
    amy, _ = _public_video(make_player, upload, process, first="Amy", last="B")
    names = [r["username"] for r in client.get("/api/public/rankings").json()]
    assert names == ["Amy B", "Zed A"]


def test_rankings_default_page_size_is_20(client, seed_public_video):
    for i in range(21):
        seed_public_video(first=f"P{i:02d}")
    assert len(client.get("/api/public/rankings").json()) == 20
    assert client.get("/api/public/rankings?page=2").json()[0]["position"] == 21
