#!/usr/bin/env python3
"""A small, independent Azure Blob client for the tests (SharedKey written here from the REST
documentation, not baker's): create a container, read a blob's bytes, properties and page ranges,
and make an account SAS token as Azure's own tools do (signed with the account key).

usage: azure-blob.py ENDPOINT ACCOUNT create-container CONTAINER
       azure-blob.py ENDPOINT ACCOUNT get CONTAINER/BLOB OUTPUT
       azure-blob.py ENDPOINT ACCOUNT props CONTAINER/BLOB        (JSON: headers)
       azure-blob.py ENDPOINT ACCOUNT pages CONTAINER/BLOB        (JSON: [[start, end], ...])
       azure-blob.py ENDPOINT ACCOUNT list CONTAINER              (one name a line)
       azure-blob.py ENDPOINT ACCOUNT page-curl CONTAINER/BLOB FILE CHUNK-PREFIX
           a curl config (curl -K) that creates a page blob of FILE's size and writes all of it in 4 MiB
           Put Page requests from CHUNK-PREFIX000000, 000001, … (FILE split beforehand): the plain
           client a bench measures baker against (it sends every page, zeros too)
       azure-blob.py ENDPOINT ACCOUNT sas PERMISSIONS EXPIRY      (an account SAS for the blob service:
                                                                   PERMISSIONS e.g. rwdlac, EXPIRY
                                                                   YYYY-MM-DDTHH:MM:SSZ)
ENDPOINT is http://HOST:PORT (the account in the path, as Azurite has it); the key comes from
AZURE_STORAGE_KEY."""
import base64, email.utils, hashlib, hmac, json, os, re, sys, urllib.parse, urllib.request

endpoint, account, verb = sys.argv[1], sys.argv[2], sys.argv[3]
key = base64.b64decode(os.environ["AZURE_STORAGE_KEY"])


def sign(method, path, query="", headers=None, length=0):
    """The headers of a request with its SharedKey Authorization, and its URL."""
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
    sts = "\n".join([method, "", "", str(length) if length else "", "", headers.get("Content-Type", ""), "", "", "", "",
                     "", ""]) + "\n" + canon_h + canon_r
    sig = base64.b64encode(hmac.new(key, sts.encode(), hashlib.sha256).digest()).decode()
    headers["Authorization"] = f"SharedKey {account}:{sig}"
    return headers, endpoint + full + ("?" + query if query else "")


def request(method, path, query="", headers=None, body=b""):
    headers, url = sign(method, path, query, headers, len(body))
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
elif verb == "page-curl":
    size, chunk = os.path.getsize(sys.argv[5]), 4 << 20
    def entry(method, query, headers, length, upload=None):
        h, url = sign(method, "/" + arg, query, headers, length)
        lines = [f'url = "{url}"', f'request = "{method}"', 'header = "Expect:"']
        lines += [f'header = "{k}: {v}"' for k, v in h.items()]
        lines += [f'upload-file = "{upload}"'] if upload else ['header = "Content-Length: 0"']
        return "\n".join(lines + ["fail", "silent", "show-error", "output = /dev/null"])
    out = [entry("PUT", "", {"x-ms-blob-type": "PageBlob", "x-ms-blob-content-length": str(size)}, 0)]
    for i, off in enumerate(range(0, size, chunk)):
        n = min(chunk, size - off)
        out.append(entry("PUT", "comp=page", {"x-ms-page-write": "update", "x-ms-range": f"bytes={off}-{off + n - 1}"},
                         n, f"{sys.argv[6]}{i:06d}"))
    print("\nnext\n".join(out))
elif verb == "sas":
    # Account SAS, version 2020-12-06 and later: the fields below, each followed by a newline
    # (the empty encryption scope included), HMAC-SHA256 with the account key.
    fields = {"sv": "2021-08-06", "ss": "b", "srt": "sco", "sp": arg, "se": sys.argv[5], "spr": "https,http"}
    sts = "\n".join([account, fields["sp"], fields["ss"], fields["srt"], "", fields["se"], "", fields["spr"],
                     fields["sv"], "", ""])
    fields["sig"] = base64.b64encode(hmac.new(key, sts.encode(), hashlib.sha256).digest()).decode()
    print(urllib.parse.urlencode(fields, safe=","))
