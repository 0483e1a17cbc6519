# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_probe's trace (_probe.trace, _tls.messages): the transcript of flights built with the lab's own
server code (tests/lab/tls_server.py) and of real handshakes with real TLS servers on 127.0.0.1.

Every test also checks that no key material reaches the output: the randoms, session ids and key
shares of the flight are searched for (hex, as any dump would show them) in the JSON and the text."""
from __future__ import annotations

import json
import re
import ssl

import pytest
import trustme

from ansible_collections.tlsops.handshake.plugins.module_utils._probe import trace
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.run import probe_targets
from ansible_collections.tlsops.handshake.plugins.module_utils._tls import x509_lite
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.client_hello import build_client_hello
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.records import CT_APPLICATION_DATA, CT_CHANGE_CIPHER_SPEC, build_records
from tests.lab import tls_server as srv
from tests.unit.plugins.module_utils.loopback_tls import LoopbackTlsServer

CLIENT_RANDOM = bytes(range(100, 132))
CLIENT_SESSION = bytes(range(200, 232))
SERVER_RANDOM = bytes(range(1, 33))


def _dump(transcript):
    entries, lines = transcript.result()
    return entries, lines, json.dumps(entries) + "\n".join(lines)


def _secrets_of(client_record, server_records=b""):
    """The key material of a flight, as hex: randoms, session ids, every key share."""
    hello = srv.parse_client_hello(client_record)
    secrets = [hello.random, hello.session_id] + list(hello.key_shares.values())
    for record in srv.iter_records(server_records)[0] if server_records else ():
        if record.fragment[:1] == b"\x02":   # a ServerHello: random at 6..38, then session id
            secrets.append(record.fragment[6:38])
    return [s.hex() for s in secrets if len(s) >= 8]


def _assert_no_key_material(text, secrets):
    for secret in secrets:
        assert secret not in text and secret.upper() not in text, "key material in the trace: %s" % secret
    assert not re.search(r"[0-9a-fA-F]{32,}", text), "a long hex string in the trace"


def _client_hello(**kwargs):
    return build_client_hello(server_name="upstream.lab.test", random=CLIENT_RANDOM, session_id=CLIENT_SESSION,
                              alpn=["h2", "http/1.1"], **kwargs)


def _messages(entries, direction=None):
    return [e["message"] for e in entries if e["direction"] != "none" and direction in (None, e["direction"])]


def test_tls13_flight_names_each_message_and_counts_the_encrypted_records():
    hello = _client_hello(versions=("TLSv1.2", "TLSv1.3"), groups=["x25519", "secp256r1"])
    answer = (srv.build_server_hello(hello, version="TLSv1.3", random=SERVER_RANDOM)
              + build_records(CT_CHANGE_CIPHER_SPEC, b"\x01") + build_records(CT_APPLICATION_DATA, b"\x17" * 300))
    transcript = trace.Transcript()
    conn = transcript.connection("test flight")
    conn.wire_bytes("sent", hello)
    for start in range(0, len(answer), 7):   # as a slow server sends it: records split anywhere
        conn.wire_bytes("received", answer[start:start + 7])
    conn.finish("done")
    entries, lines, text = _dump(transcript)
    assert _messages(entries) == ["ClientHello", "ServerHello", "ChangeCipherSpec", "encrypted"]
    client, server = entries[1]["fields"], entries[2]["fields"]
    assert client["server_name"] == "upstream.lab.test"
    assert client["supported_versions"] == ["TLSv1.3", "TLSv1.2"]
    assert client["supported_groups"] == ["x25519", "secp256r1"]
    assert client["key_share_groups"] == ["x25519"]
    assert client["alpn"] == ["h2", "http/1.1"]
    assert "rsa_pss_rsae_sha256" in client["signature_algorithms"]
    assert client["cipher_suites"][0].startswith("TLS_")
    assert client["session_id_length"] == 32
    assert server["version"] == "TLSv1.3" and server["key_share_group"] == "x25519"
    assert server["cipher_suite"].startswith("TLS_") and server["key_share_length"] == 32
    assert entries[4]["encrypted"] is True and entries[4]["length"] == 300
    assert lines[1].startswith(">>> TLS 1.0, Handshake [length ") and lines[1].endswith("], ClientHello")
    assert "<<< TLS 1.3, ApplicationData [length 012c], encrypted" in lines
    _assert_no_key_material(text, _secrets_of(hello, answer))


def test_alert_40_shows_level_and_description():
    hello = _client_hello(versions=("TLSv1.2",), ciphers=[0xC02F])
    transcript = trace.Transcript()
    conn = transcript.connection("alert")
    conn.wire_bytes("sent", hello)
    conn.wire_bytes("received", srv.build_alert("handshake_failure"))
    entries, lines, text = _dump(transcript)
    alert = entries[-1]
    assert alert["direction"] == "received" and alert["record"] == "Alert"
    assert alert["fields"] == {"level": "fatal", "description": "handshake_failure", "code": 40}
    assert "<<< TLS 1.2, Alert [length 0002], fatal handshake_failure" in lines
    assert entries[1]["fields"]["cipher_suites"] == ["ECDHE-RSA-AES128-GCM-SHA256"]
    _assert_no_key_material(text, _secrets_of(hello))


def test_hello_retry_request_is_named_with_the_group_it_wants():
    hello = _client_hello(versions=("TLSv1.3",), groups=["x25519", "secp384r1"])
    transcript = trace.Transcript()
    conn = transcript.connection("hrr")
    conn.wire_bytes("sent", hello)
    conn.wire_bytes("received", srv.build_hello_retry_request(hello, "secp384r1"))
    entries, lines, text = _dump(transcript)
    assert _messages(entries) == ["ClientHello", "HelloRetryRequest"]
    assert entries[-1]["fields"]["key_share_group"] == "secp384r1"
    assert "key_share_length" not in entries[-1]["fields"]
    assert lines[-2].endswith("], HelloRetryRequest")
    _assert_no_key_material(text, _secrets_of(hello))


def test_key_share_violation_shows_the_offered_and_the_answered_group():
    hello = _client_hello(versions=("TLSv1.3",), groups=["x25519", "secp384r1"], key_share_groups=["x25519"])
    answer = srv.rewrite_server_hello_key_share(srv.build_server_hello(hello, version="TLSv1.3",
                                                                       random=SERVER_RANDOM), "secp384r1")
    transcript = trace.Transcript()
    conn = transcript.connection("relay")
    conn.wire_bytes("sent", hello)
    conn.wire_bytes("received", answer)
    entries, _lines, text = _dump(transcript)
    assert entries[1]["fields"]["key_share_groups"] == ["x25519"]
    assert entries[2]["fields"]["key_share_group"] == "secp384r1"
    _assert_no_key_material(text, _secrets_of(hello, answer))


def test_tls12_flight_with_a_certificate_split_over_records():
    ca = trustme.CA()
    leaf = ca.issue_cert("upstream.lab.test")
    der = ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())
    hello = _client_hello(versions=("TLSv1.2",))
    messages = srv.build_certificate([der]) + srv.build_server_hello_done()
    answer = (srv.build_server_hello(hello, version="TLSv1.2", random=SERVER_RANDOM)
              + build_records(22, messages, max_fragment=100))
    transcript = trace.Transcript()
    conn = transcript.connection("tls12")
    conn.wire_bytes("sent", hello)
    conn.wire_bytes("received", answer)
    entries, _lines, text = _dump(transcript)
    assert _messages(entries, "received") == ["ServerHello", "Certificate", "ServerHelloDone"]
    cert = entries[3]["fields"]
    assert cert["certificate_count"] == 1
    assert cert["certificates"] == [{"subject": x509_lite.parse_certificate(der)["subject"],
                                     "issuer": x509_lite.parse_certificate(der)["issuer"], "length": len(der)}]
    assert entries[2]["fields"]["version"] == "TLSv1.2"
    _assert_no_key_material(text, _secrets_of(hello, answer))


def test_the_cap_stops_the_transcript_and_says_so():
    transcript = trace.Transcript(max_messages=6)
    conn = transcript.connection("many")
    for _alert in range(20):
        conn.wire_bytes("received", srv.build_alert("close_notify", level=1))
    entries, lines = transcript.result()
    assert len(entries) == 6
    assert entries[-1]["message"] == "truncated" and entries[-1]["fields"]["not_recorded"] == 15
    assert "cap of 6 entries" in lines[-2] and lines[-1] == "--- 15 more entries not recorded ---"
    small = trace.Transcript(max_bytes=300)
    conn = small.connection("big")
    conn.wire_bytes("sent", _client_hello())
    entries, lines = small.result()
    assert entries[-1]["message"] == "truncated" and "300 bytes of text" in entries[-1]["fields"]["cap"]
    assert sum(len(line) + 1 for line in lines) < 400


def test_bytes_that_are_not_tls_are_said_not_decoded():
    transcript = trace.Transcript()
    conn = transcript.connection("banner")
    conn.wire_bytes("received", b"SSH-2.0-OpenSSH_9.6\r\n")
    entries, _lines = transcript.result()
    assert entries[-1]["message"] == "note" and "not TLS records" in entries[-1]["fields"]["note"]


# ---------------------------------------------------------------------------
# real handshakes through ssl (the msg callback) and raw follow-ups, on 127.0.0.1
# ---------------------------------------------------------------------------

def _probe(server, **settings):
    target = dict({"host": "127.0.0.1", "port": server.port, "server_name": "upstream.lab.test",
                   "verify": False, "http_request": False, "timeout": 5, "trace": True}, **settings)
    results, _summary = probe_targets([target])
    return results[0]


def _server(maximum_version, ciphers=None):
    return LoopbackTlsServer(maximum_version, ciphers=ciphers, names=("upstream.lab.test",))


def _connection(result, number):
    return [e for e in result["trace"] if e["connection"] == number and e["direction"] != "none"]


@pytest.mark.skipif(not trace.MSG_CALLBACK, reason="this Python has no SSLContext._msg_callback")
def test_real_tls13_handshake_names_the_decrypted_messages():
    with _server(ssl.TLSVersion.TLSv1_3) as server:
        result = _probe(server)
    assert result["ok"], result
    first = _connection(result, 1)
    names = [(e["direction"], e["message"]) for e in first]
    assert names[:7] == [("sent", "ClientHello"), ("received", "ServerHello"), ("received", "ChangeCipherSpec"),
                         ("received", "EncryptedExtensions"),
                         ("received", "Certificate"), ("received", "CertificateVerify"), ("received", "Finished")]
    assert ("sent", "Finished") in names
    assert all(e["encrypted"] for e in first[3:7]) and not first[2]["encrypted"]
    assert first[1]["fields"]["version"] == "TLSv1.3"
    assert first[4]["fields"]["certificates"][0]["subject"]
    assert first[6]["fields"] == {"verify_data_length": first[6]["length"] - 4}
    assert result["trace"][0]["fields"]["purpose"].startswith("the probe's handshake")
    assert any(line.startswith("<<< TLS 1.3, Handshake [length ") and line.endswith("], EncryptedExtensions")
               for line in result["trace_text"])
    _assert_no_key_material("\n".join(result["trace_text"]) + json.dumps(result["trace"]), [])


@pytest.mark.skipif(not trace.MSG_CALLBACK, reason="this Python has no SSLContext._msg_callback")
def test_real_tls12_handshake_shows_the_plaintext_flight_and_the_change_cipher_spec():
    with _server(ssl.TLSVersion.TLSv1_2) as server:
        result = _probe(server, protocols=["TLSv1.2"])
    assert result["ok"], result
    names = [(e["direction"], e["message"]) for e in _connection(result, 1)]
    assert names[:8] == [("sent", "ClientHello"), ("received", "ServerHello"), ("received", "Certificate"),
                         ("received", "ServerKeyExchange"), ("received", "ServerHelloDone"),
                         ("sent", "ClientKeyExchange"), ("sent", "ChangeCipherSpec"), ("sent", "Finished")]
    assert ("received", "ChangeCipherSpec") in names   # OpenSSL reports a read CCS by its record header only
    ske = _connection(result, 1)[3]["fields"]
    assert ske["kind"] == "ecdhe" and ske["group"] and ske["signature_algorithm"]
    finished = _connection(result, 1)[7]
    assert finished["encrypted"] is True and finished["fields"] == {"verify_data_length": 12}


def test_a_refused_cipher_shows_alert_40_in_the_handshake_and_in_the_follow_ups():
    with _server(ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384") as server:
        result = _probe(server, protocols=["TLSv1.2"], ciphers="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
    assert result["cause"] == "cipher_mismatch", result
    alerts = [(e["connection"], e["direction"], e["fields"]["description"])
              for e in result["trace"] if e["message"] == "Alert"]
    if trace.MSG_CALLBACK:
        assert (1, "received", "handshake_failure") in alerts
    raw = [e for e in result["trace"] if e["message"] == "connection" and "raw ClientHello" in e["fields"]["purpose"]]
    assert raw, "the diagnose follow-ups are in the transcript"
    assert any(c != 1 and d == "received" for c, d, _description in alerts)
    assert len({e["connection"] for e in result["trace"]}) == result["handshakes"]


def test_without_the_msg_callback_the_handshake_says_so_and_follow_ups_are_recorded(monkeypatch):
    # A Python without SSLContext._msg_callback cannot be installed here: the flag the probe reads stands in.
    monkeypatch.setattr(trace, "MSG_CALLBACK", False)
    with _server(ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384") as server:
        result = _probe(server, protocols=["TLSv1.2"], ciphers="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
    first = [e for e in result["trace"] if e["connection"] == 1]
    assert [e["message"] for e in first] == ["connection", "note", "note"]
    assert first[1]["fields"]["note"] == trace.NO_MSG_CALLBACK
    assert any(e["message"] == "Alert" and e["connection"] > 1 for e in result["trace"])


def test_trace_off_adds_no_keys():
    with _server(ssl.TLSVersion.TLSv1_3) as server:
        result = _probe(server, trace=False)
    assert "trace" not in result and "trace_text" not in result


def test_enumerate_follow_ups_are_recorded_within_the_cap():
    with _server(ssl.TLSVersion.TLSv1_3) as server:
        result = _probe(server, enumerate=["protocols", "ciphers", "groups"])
    assert result["ok"] and result["capabilities"], result
    entries = result["trace"]
    assert len(entries) <= trace.DEFAULT_MAX_MESSAGES
    assert sum(len(line) + 1 for line in result["trace_text"]) <= trace.DEFAULT_MAX_BYTES + 200
    raw = [e for e in entries if e["message"] == "connection" and "raw ClientHello" in e["fields"]["purpose"]]
    assert len(raw) > 1, "the enumeration's ClientHellos are in the transcript"
    if result["handshakes"] > len({e["connection"] for e in entries}):
        assert entries[-1]["message"] == "truncated" and entries[-1]["fields"]["not_recorded"] > 0
