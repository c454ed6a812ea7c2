#!/usr/bin/env python3
# fake_registry.py - a scripted, hostile registry for svcr's black-box tests (svcr_hostile.sh).
#
#   fake_registry.py build DIR SVCR   signer keys, a genuine 2-version chain, proposals and the
#                                     forged variants, made with the svcr under test (offline
#                                     verbs: keygen, trust-roots, payload-b3, sign, jcs); one
#                                     routes.<scenario>.json per scenario
#   fake_registry.py serve DIR        answers from DIR/routes.json (re-read on every request),
#                                     prints its port, logs every request to DIR/requests.log
#
# A route is "METHOD PATH" (a trailing * matches any rest) -> one of
#   {"status": 200, "body": <JSON value>}       sent as compact JSON (ensure_ascii off)
#   {"status": 200, "text": "..."}              sent as given (UTF-8)
#   {"status": 200, "file": "name"}             the bytes of DIR/name
#   {"big": N, "chunked": false}                N bytes of JSON-ish filler (Content-Length, or
#                                               chunked without a length)
#   {"stream": [[step, ...], ...]}              an SSE answer per connection (the last repeats);
#                                               steps {"send": "..."}, {"sleep": s},
#                                               {"fill": {"prefix", "len", "times"}}
import http.server
import json
import os
import socketserver
import subprocess
import sys
import threading
import time

ZERO = "b3:" + "0" * 64


# ---- build ----------------------------------------------------------------------------------

class Builder:
    def __init__(self, d, svcr):
        self.d, self.svcr = d, svcr
        self.t = 0

    def run(self, *args, stdin=None):
        r = subprocess.run([self.svcr, *args], input=stdin, capture_output=True, cwd=self.d)
        if r.returncode != 0:
            sys.exit("svcr %s failed: %s" % (args[0], r.stderr.decode(errors="replace")))
        return r.stdout

    def key(self, name):
        out = self.run("keygen", "--json", "--signer-id", "org:%s#k1" % name,
                       "--out", name + ".key")
        return json.loads(out)

    def b3(self, payload):
        return self.run("payload-b3", "-", stdin=json.dumps(payload).encode()).decode().strip()

    def jcs(self, value):
        return self.run("jcs", "-", stdin=json.dumps(value).encode())

    def approval(self, key, b3):
        return json.loads(self.run("sign", "--json", "--key", key + ".key", "--payload-b3", b3))

    def artifact(self, version, payload, signers, prev=None, b3=None):
        """The JCS bytes of a signed artifact; prev and b3 default to the payload's own."""
        self.t += 1
        b3 = b3 or self.b3(payload)
        apps = sorted((self.approval(k, b3) for k in signers), key=lambda a: a["signer_id"])
        return self.jcs({"schema_version": "1.0.0", "version": version, "payload": payload,
                         "payload_b3": b3, "approvals": apps,
                         "prev_hash": prev if prev is not None else payload["prev_hash"],
                         "committed_at": "2026-01-01T00:00:%02d.000Z" % self.t,
                         "proposal_id": "p_" + b3[3:27]})

    def write(self, name, data):
        with open(os.path.join(self.d, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else json.dumps(data).encode())


def signer_set(entries):
    return {"kind": "signer_set", "id": "governance", "quorum": {"m": 1}, "signers": entries}


def service(sid, endpoint="https://x.local"):
    return {"kind": "service", "id": sid, "endpoint": endpoint}


def proposal_doc(b, payload):
    b3 = b.b3(payload)
    pid = "p_" + b3[3:27]
    return pid, {"proposal_id": pid, "status": "pending", "payload": payload, "payload_b3": b3,
                 "approvals": [], "quorum": {"m": 1, "n": 2},
                 "accepted_at": "2026-01-01T00:01:00.000Z",
                 "expires_at": "2026-01-04T00:01:00.000Z"}


HOSTILE_IDS = ["x\n  (no item changes)\n", "y\r\x1b[2K", "z\x1b[8m", "w\x1b]0;title\x07",
               "x\u202egnp.exe"]


def build(d, svcr):
    b = Builder(d, svcr)
    ka, kb, kc = b.key("a"), b.key("b"), b.key("c")
    b.run("trust-roots", "--m", "1", "--out", "roots.json", "a.key", "b.key")
    set_ab, set_abc, set_c = signer_set([ka, kb]), signer_set([ka, kb, kc]), signer_set([kc])
    region = {"kind": "region", "id": "eu-west"}
    base = [region, service("svc:alpha"), service("svc:beta")]
    v1 = {"version": 1, "prev_hash": ZERO, "items": [set_ab] + base}
    b1 = b.b3(v1)
    v2 = {"version": 2, "prev_hash": b1, "items": [set_ab] + base + [service("svc:gamma")]}
    b2 = b.b3(v2)
    art1, art2 = b.artifact(1, v1, ["a"]), b.artifact(2, v2, ["a"])
    b.write("1.json", art1)
    b.write("2.json", art2)

    # the proposal under review: svc:beta removed, c added to the signer set, hostile ids
    p3 = {"version": 3, "prev_hash": b2,
          "items": [set_abc, region, service("svc:alpha"), service("svc:gamma")] +
          [service(i) for i in HOSTILE_IDS]}
    pid3, doc3 = proposal_doc(b, p3)
    b3p = doc3["payload_b3"]
    # a plain proposal built on version 1's hash although it claims version 3
    px = {"version": 3, "prev_hash": b1, "items": [set_ab, region, service("svc:alpha")]}
    pidx, docx = proposal_doc(b, px)

    # version 2 with one endpoint changed under its original payload_b3
    v2t = json.loads(json.dumps(v2))
    v2t["items"][4]["endpoint"] = "https://evil.local"
    b.write("2-tampered.json", b.artifact(2, v2t, ["a"], b3=b2))
    # version 2 approved by c, who is not in version 1's signer set
    b.write("2-badsig.json", b.artifact(2, v2, ["c"]))
    # the "(no item changes)" attack: the proposal's own payload served as HEAD
    b.write("2-is-p3.json", b.artifact(2, p3, ["a"], prev=b1))
    b.write("3-is-p3.json", b.artifact(3, p3, ["a"], prev=b2))
    # a chain forged from version 1 on: signer set {c}, approved by c
    f1 = {"version": 1, "prev_hash": ZERO, "items": [set_c] + base}
    f2 = {"version": 2, "prev_hash": b.b3(f1), "items": [set_c] + base + [service("svc:gamma")]}
    b.write("f1.json", b.artifact(1, f1, ["c"]))
    b.write("f2.json", b.artifact(2, f2, ["c"]))
    pf = {"version": 3, "prev_hash": b.b3(f2), "items": [set_c, region, service("svc:alpha")]}
    pidf, docf = proposal_doc(b, pf)

    head2 = {"version": 2, "payload_b3": b2, "committed_at": "2026-01-01T00:00:02.000Z"}
    accepted = {"status": 200, "body": {"status": "accepted", "approvals": 1,
                                         "quorum": {"m": 1, "n": 2}}}

    def routes(name, head, v1file, v2file, extra=None):
        r = {"GET /registry/head": {"status": 200, "body": head},
             "GET /registry/1": {"status": 200, "file": v1file},
             "GET /registry/2": {"status": 200, "file": v2file},
             "GET /registry/proposals/" + pid3: {"status": 200, "body": doc3},
             "GET /registry/proposals/" + pidx: {"status": 200, "body": docx},
             "GET /registry/proposals/" + pidf: {"status": 200, "body": docf},
             "POST /registry/approvals/*": accepted}
        r.update(extra or {})
        b.write("routes.%s.json" % name, r)

    routes("good", head2, "1.json", "2.json")
    routes("tampered", head2, "1.json", "2-tampered.json")
    routes("badsig", head2, "1.json", "2-badsig.json")
    routes("base-is-p3", dict(head2, payload_b3=b3p), "1.json", "2-is-p3.json")
    routes("base-is-p3-v3", {"version": 3, "payload_b3": b3p,
                             "committed_at": "2026-01-01T00:00:09.000Z"}, "1.json", "2.json",
           {"GET /registry/3": {"status": 200, "file": "3-is-p3.json"}})
    routes("forged", dict(head2, payload_b3=b.b3(f2)), "f1.json", "f2.json")
    b.write("ids.env", ("P3=%s\nPX=%s\nPF=%s\nB2=%s\nB3P=%s\n" %
                        (pid3, pidx, pidf, b2, b3p)).encode())

    # answers too large to read
    mib = 1 << 20
    b.write("routes.big-head.json", {"GET /registry/head": {"big": 300 * mib, "chunked": False}})
    b.write("routes.big-chunked.json", {
        "GET /registry/head": {"status": 200, "body": dict(head2, version=1, payload_b3=b1)},
        "GET /registry/1": {"big": 300 * mib, "chunked": True}})

    # streams
    def ev(kind, v, b3="b3:" + "ab" * 32, corr="C"):
        data = {"version": v, "payload_b3": b3, "committed_at": "2026-01-01T00:00:0%d.000Z" % v,
                "corr_id": corr + str(v)}
        return "id: %d\nevent: registry.%s\ndata: %s\n\n" % (v, kind, json.dumps(data))

    hold = {"sleep": 8}
    b.write("routes.rollback.json", {"GET /registry/stream": {"stream": [[
        {"send": ev("update", 5) + ev("reconcile", 2) + ev("update", 3) + ev("update", 4) +
         ev("update", 5)}, hold]]}})
    b.write("routes.bigline.json", {"GET /registry/stream": {"stream": [[
        {"send": ev("update", 5) + "data: "}, {"fill": {"prefix": "", "len": 2 * mib, "times": 1}},
        hold]]}})
    b.write("routes.bigevent.json", {"GET /registry/stream": {"stream": [[
        {"send": "event: registry.update\n"},
        {"fill": {"prefix": "data: ", "len": mib - 64, "times": 300}}, hold]]}})
    hostile_data = {"version": 7, "payload_b3": "b3:\x1b[8m", "committed_at": "\u202e2026",
                    "corr_id": "\r\x1b[2K"}
    b.write("routes.hostile-watch.json", {"GET /registry/stream": {"stream": [[
        {"send": "id: 7\nevent: registry.update\ndata: %s\n\n" % json.dumps(hostile_data,
                                                                               ensure_ascii=False)
         + "event: x\x1b[2Jy\u202e\ndata: {\"version\":8,\"n\":\"\\u001b]0;t\\u0007\"}\n\n"},
        hold]]}})
    b.write("routes.quiet-stream.json", {"GET /registry/stream": {"stream": [[
        {"send": ": hb\n\n"}, hold]]},
        "GET /registry/head": {"status": 200, "body": head2}})

    # every read verb, with hostile strings where a person reads them
    esc = "\x1b[2J\x1b]0;owned\x07\r\u202e\u200b"
    hart = json.loads(art2)
    hart["payload"]["items"].append(service("svc:" + esc))
    hart["approvals"][0]["signer_id"] = "org:a#k1" + esc
    hart["committed_at"] = "2026" + esc
    hart["payload"]["supersede_note"] = "note" + esc
    env = {"code": "NotFound" + esc, "message": "gone" + esc, "corr_id": "c" + esc,
           "details": {"reason": "r" + esc}}
    b.write("routes.hostile-reads.json", {
        "GET /registry/head": {"status": 200, "body": {"version": 2, "payload_b3": "b3:" + esc,
                                                        "committed_at": esc}},
        "GET /registry/1": {"status": 200, "file": "1.json"},
        "GET /registry/2": {"status": 200, "body": hart},
        "GET /registry/9": {"status": 404, "body": {"error": env}},
        "GET /registry/proposals": {"status": 200, "body": {"proposals": [
            {"proposal_id": "p_" + esc, "version": 3, "approvals": 0, "quorum": {"m": 1},
             "expires_at": esc}]}},
        "GET /registry/proposals/" + pid3: {"status": 200, "body": dict(
            doc3, status="pending" + esc, approvals=[{"signer_id": "org:" + esc,
                                                      "signed_at": esc}])},
        "GET /registry/audit*": {"status": 200, "body": {"records": [
            {"seq": 1, "ts": esc, "event": "approve" + esc, "decision": "rejected",
             "reason": "r" + esc, "signer_id": "s" + esc, "proposal_id": pid3}], "next": None}},
        "POST /registry/commit/*": {"status": 201, "body": {
            "version": 3, "payload_b3": "b3:" + esc, "committed_at": esc}},
        "POST /registry/admin/freeze": {"status": 503, "text": "oops" + esc + "\n<html>"},
    })


# ---- serve ----------------------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    counters = {}
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def route(self):
        with open(os.path.join(self.server.dir, "routes.json")) as f:
            routes = json.load(f)
        key = "%s %s" % (self.command, self.path)
        if key in routes:
            return key, routes[key]
        # a listing asked page by page (?limit=&after=) is answered as one last page
        bare = "%s %s" % (self.command, self.path.split("?", 1)[0])
        if "?" in self.path and bare in routes:
            return bare, routes[bare]
        for k, v in routes.items():
            if k.endswith("*") and key.startswith(k[:-1]):
                return k, v
        return key, None

    def log_request_line(self):
        with self.lock, open(os.path.join(self.server.dir, "requests.log"), "a") as f:
            f.write("%s %s auth=%s lei=%s\n" % (
                self.command, self.path, "yes" if self.headers.get("Authorization") else "no",
                self.headers.get("Last-Event-ID", "-")))

    def send_bytes(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.log_request_line()
        key, r = self.route()
        if r is None:
            return self.send_bytes(404, b'{"error":{"code":"NotFound","message":"no route",'
                                        b'"corr_id":"X","details":{}}}')
        try:
            if "big" in r:
                return self.big(r["big"], r.get("chunked"))
            if "stream" in r:
                return self.stream(key, r["stream"])
            if "file" in r:
                with open(os.path.join(self.server.dir, r["file"]), "rb") as f:
                    body = f.read()
            elif "text" in r:
                body = r["text"].encode()
            else:
                body = json.dumps(r["body"], ensure_ascii=False, separators=(",", ":")).encode()
            self.send_bytes(r.get("status", 200), body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def big(self, size, chunked):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        block = b'{"version":1,"pad":"' + b"a" * ((1 << 20) - 20)
        sent = 0
        while sent < size:
            part = block[: min(len(block), size - sent)]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
            sent += len(part)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def stream(self, key, plans):
        with self.lock:
            i = self.counters.get(key, 0)
            self.counters[key] = i + 1
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for step in plans[min(i, len(plans) - 1)]:
            if "send" in step:
                self.wfile.write(step["send"].encode())
            elif "fill" in step:
                f = step["fill"]
                line = f["prefix"].encode() + b"a" * f["len"]
                for _ in range(f["times"]):
                    self.wfile.write(line + (b"\n" if f["times"] > 1 else b""))
            elif "sleep" in step:
                self.wfile.flush()
                time.sleep(step["sleep"])
            self.wfile.flush()

    do_GET = answer
    do_POST = answer


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(d):
    srv = Server(("127.0.0.1", 0), Handler)
    srv.dir = d
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "build":
        build(os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(os.path.abspath(sys.argv[2]))
    else:
        sys.exit("usage: fake_registry.py build DIR SVCR | serve DIR")
