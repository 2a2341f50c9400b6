#!/usr/bin/env python3
"""A small, independent Azure Blob client for the tests (SharedKey written here from the REST
documentation, not baker's): create a container, read a blob's bytes, properties and page ranges.

usage: azure-blob.py ENDPOINT ACCOUNT create-container CONTAINER
       azure-blob.py ENDPOINT ACCOUNT get CONTAINER/BLOB OUTPUT
       azure-blob.py ENDPOINT ACCOUNT props CONTAINER/BLOB        (JSON: headers)
       azure-blob.py ENDPOINT ACCOUNT pages CONTAINER/BLOB        (JSON: [[start, end], ...])
       azure-blob.py ENDPOINT ACCOUNT list CONTAINER              (one name a line)
ENDPOINT is http://HOST:PORT (the account in the path, as Azurite has it); the key comes from
AZURE_STORAGE_KEY."""
import base64, email.utils, hashlib, hmac, json, os, re, sys, urllib.parse, urllib.request

endpoint, account, verb = sys.argv[1], sys.argv[2], sys.argv[3]
key = base64.b64decode(os.environ["AZURE_STORAGE_KEY"])


def request(method, path, query="", headers=None, body=b""):
    headers = dict(headers or {})
    headers["x-ms-date"] = email.utils.formatdate(usegmt=True)
    headers["x-ms-version"] = "2021-08-06"
    if method == "PUT":
        headers.setdefault("Content-Type", "application/octet-stream")
    full = "/" + account + path
    canon_h = "".join(f"{k.lower()}:{v}\n" for k, v in sorted(headers.items(), key=lambda kv: kv[0].lower())
                      if k.lower().startswith("x-ms-"))
    params = sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
    canon_r = "/" + account + full + "".join(f"\n{k.lower()}:{v}" for k, v in params)
    length = str(len(body)) if body else ""
    sts = "\n".join([method, "", "", length, "", headers.get("Content-Type", ""), "", "", "", "", "", ""]) + "\n" + canon_h + canon_r
    sig = base64.b64encode(hmac.new(key, sts.encode(), hashlib.sha256).digest()).decode()
    headers["Authorization"] = f"SharedKey {account}:{sig}"
    url = endpoint + full + ("?" + query if query else "")
    req = urllib.request.Request(url, data=body if method == "PUT" else None, method=method, headers=headers)
    return urllib.request.urlopen(req)


arg = sys.argv[4]
if verb == "create-container":
    request("PUT", "/" + arg, "restype=container")
elif verb == "get":
    with request("GET", "/" + arg) as r, open(sys.argv[5], "wb") as f:
        while chunk := r.read(1 << 20):
            f.write(chunk)
elif verb == "props":
    with request("HEAD", "/" + arg) as r:
        print(json.dumps({k.lower(): v for k, v in r.headers.items()}))
elif verb == "pages":
    with request("GET", "/" + arg, "comp=pagelist") as r:
        xml = r.read().decode()
    print(json.dumps([[int(a), int(b)] for a, b in re.findall(r"<Start>(\d+)</Start><End>(\d+)</End>", xml)]))
elif verb == "list":
    with request("GET", "/" + arg, "restype=container&comp=list") as r:
        print("\n".join(re.findall(r"<Name>([^<]*)</Name>", r.read().decode())))
