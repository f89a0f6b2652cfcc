import time, os
from coopmatrix.core.testing import login

H = {"HX-Request": "true"} if os.environ.get("HX") else {}
URLS = os.environ.get("URLS", "").split()

def test_times(walked_world, client):
    login(client, walked_world.user(os.environ.get("ROLE", "anonymous")))
    from coopmatrix.matrix.models import Activity
    a = Activity.objects.visible_to(walked_world.user("anonymous")).first()
    urls = [u.replace("ACT", str(a.pk)) for u in URLS]
    for u in urls:
        client.get(u, headers=H)
        t = time.perf_counter()
        for _ in range(3):
            r = client.get(u, headers=H)
        print(f"\n{(time.perf_counter()-t)/3*1000:8.1f} ms {r.status_code} {len(r.content):8d} {u}")
    if os.environ.get("PROF"):
        import cProfile, pstats
        p = cProfile.Profile(); p.enable()
        for _ in range(3): client.get(urls[0], headers=H)
        p.disable(); pstats.Stats(p).sort_stats("tottime").print_stats(40)
