def test_get_twice_is_one_exchange(logged_in):
    box = logged_in
    first = box.run("get", input=box.credential())
    assert first.returncode == 0, first.stderr
    second = box.run("get", input=box.credential())
    assert first.pairs()["password"] == second.pairs()["password"]
    assert box.server.exchanges == 1
