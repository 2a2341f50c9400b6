#!/bin/bash
# Glance behind Keystone, both from Debian on 127.0.0.1: Keystone v3 (sqlite, fernet tokens) and
# glance-api with the keystone paste flavor (keystonemiddleware checks every token). baker finds
# Glance in Keystone's catalog and authenticates with a password (clouds.yaml + secure.yaml), an
# application credential, and the OS_* variables; a wrong password fails with Keystone's answer,
# the cloud and the identity, and the password is printed nowhere.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-glance.sh"
cd "$SCRATCH"

ADMIN_PW=admin-pw-$RANDOM$RANDOM
WRONG_PW=wrong-pw-$RANDOM$RANDOM
KPORT=$(free_port)
start_keystone "$SCRATCH/keystone" "$KPORT" "$ADMIN_PW"
KS=http://127.0.0.1:$KPORT

GPORT=$(free_port)
write_glance_config "$SCRATCH/glance" "$GPORT" "flavor = keystone
[keystone_authtoken]
www_authenticate_uri = $KS
auth_url = $KS
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = admin
username = admin
password = $ADMIN_PW
interface = public"
start_glance "$SCRATCH/glance" "$GPORT"
API=http://127.0.0.1:$GPORT
[ "$(curl -s -o /dev/null -w '%{http_code}' "$API/v2/images")" = 401 ] || fail "glance does not ask for a token"

# Glance in the catalog, and an application credential (the fixture uses Keystone's API directly).
auth='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"'$ADMIN_PW'"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}'
curl -sf -D hdr -o tok.json -H 'Content-Type: application/json' -d "$auth" "$KS/v3/auth/tokens" || fail "admin token"
T=$(awk 'tolower($1) == "x-subject-token:" { print $2 }' hdr | tr -d '\r')
kpost() { curl -sf -H "X-Auth-Token: $T" -H 'Content-Type: application/json' -d "$2" "$KS/v3/$1"; }
SID=$(kpost services '{"service":{"type":"image","name":"glance"}}' | jq -r .service.id)
kpost endpoints '{"endpoint":{"service_id":"'"$SID"'","interface":"public","region_id":"RegionOne","url":"'"$API"'"}}' >/dev/null
USER_ID=$(jq -r .token.user.id tok.json)
kpost "users/$USER_ID/application_credentials" '{"application_credential":{"name":"baker-test"}}' > ac.json
AC_ID=$(jq -r .application_credential.id ac.json)
AC_SECRET=$(jq -r .application_credential.secret ac.json)
[ -n "$AC_ID" ] && [ "$AC_SECRET" != null ] || fail "application credential"

cat > clouds.yaml <<EOF
clouds:
  ks:
    region_name: RegionOne
    auth:
      auth_url: $KS/v3
      username: admin
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
  ks-bad:
    auth:
      auth_url: $KS
      username: admin
      password: $WRONG_PW
      project_name: admin
  ks-ac:
    auth_type: v3applicationcredential
    auth:
      auth_url: $KS
      application_credential_id: $AC_ID
EOF
cat > secure.yaml <<EOF
clouds:
  ks: { auth: { password: $ADMIN_PW } }
  ks-ac: { auth: { application_credential_secret: $AC_SECRET } }
EOF
export OS_CLIENT_CONFIG_FILE=$SCRATCH/clouds.yaml OS_CLIENT_SECURE_FILE=$SCRATCH/secure.yaml
export BAKER_HTTP_ATTEMPTS=1

# A small bake (no kernel, no bootloader: 48 MiB raw) to publish.
"$BAKER_SOURCE_DIR/scripts/make-tiny-rootfs" --no-kernel rootfs.tar >/dev/null
cat > small.yaml <<'EOF'
baker: 1
name: small
version: "2.0"
epoch: 1700000000
inputs:
  rootfs: { file: rootfs.tar }
disk:
  size: 48MiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: rootfs
outputs:
  - { format: raw }
EOF
"$BAKER" bake -o images small.yaml > bake.log 2>&1 || { cat bake.log >&2; fail "bake"; }
D=$(jq -r .image_digest images/manifest.json)

# Password (clouds.yaml + secure.yaml): the catalog's image endpoint, a Keystone token.
"$BAKER" push --json --channel stable images/manifest.json glance:ks/small > p1.json 2> p1.err || { cat p1.err >&2; fail "push with a password"; }
ID=$(jq -r .image_id p1.json)
[ "$(jq -r .bytes_sent p1.json)" = "$(stat -c %s images/small.raw)" ] || fail "bytes sent"
curl -sf -H "X-Auth-Token: $T" "$API/v2/images/$ID" > img.json
[ "$(jq -r .status img.json)" = active ] && [ "$(jq -r .baker_image_digest img.json)" = "$D" ] || fail "image"
[ "$(jq -r .os_hash_value img.json)" = "$(sha512sum images/small.raw | cut -d' ' -f1)" ] || fail "hash"
[ "$(jq -r .owner img.json)" = "$(jq -r .token.project.id tok.json)" ] || fail "not owned by the admin project"
pass "keystone password: published through the catalog's endpoint"

# Application credential: the same image, nothing sent.
"$BAKER" push --json images/manifest.json glance:ks-ac/small > p2.json 2> p2.err || { cat p2.err >&2; fail "push with an application credential"; }
[ "$(jq -r .bytes_sent p2.json)" = 0 ] && [ "$(jq -r .image_id p2.json)" = "$ID" ] || fail "application credential re-push"
pass "keystone application credential: re-publish sends 0 bytes"

# The OS_* variables, no clouds.yaml entry.
[ "$(env -u OS_CLIENT_CONFIG_FILE OS_AUTH_URL="$KS/v3" OS_USERNAME=admin OS_PASSWORD="$ADMIN_PW" \
     OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default \
     "$BAKER" resolve glance:/small:stable | sed -n 2p)" = "$ID" ] || fail "resolve with OS_* variables"
pass "OS_* variables: resolve"

# A wrong password: which backend, which identity, Keystone's message; never the password.
expect_exit 6 "$BAKER" push images/manifest.json glance:ks-bad/small
grep -q "keystone refused user 'admin' in project 'admin' of cloud 'ks-bad'" "$SCRATCH/out" \
  || { cat "$SCRATCH/out"; fail "wrong password message"; }
grep -q "status 401" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "no status in the message"; }
if grep -rqF -e "$WRONG_PW" -e "$ADMIN_PW" -e "$AC_SECRET" "$SCRATCH/out" p1.json p1.err p2.json p2.err; then
  fail "a secret was printed"
fi
pass "wrong password: clear error, no secret printed"

# Sharing with another Keystone project: invisible to it until baker names it a member; then the
# project accepts and lists it; visibility private hides it again.
OTHER_PW=other-pw-$RANDOM$RANDOM
OTHER_PID=$(kpost projects '{"project":{"name":"other","domain_id":"default"}}' | jq -r .project.id)
OTHER_UID=$(kpost users '{"user":{"name":"other","domain_id":"default","password":"'"$OTHER_PW"'"}}' | jq -r .user.id)
MEMBER_RID=$(curl -sf -H "X-Auth-Token: $T" "$KS/v3/roles?name=member" | jq -r '.roles[0].id')
curl -sf -X PUT -H "X-Auth-Token: $T" "$KS/v3/projects/$OTHER_PID/users/$OTHER_UID/roles/$MEMBER_RID" || fail "role"
oauth='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"other","domain":{"name":"Default"},"password":"'$OTHER_PW'"}}},"scope":{"project":{"id":"'$OTHER_PID'"}}}}'
curl -sf -D hdr2 -o /dev/null -H 'Content-Type: application/json' -d "$oauth" "$KS/v3/auth/tokens" || fail "other token"
T2=$(awk 'tolower($1) == "x-subject-token:" { print $2 }' hdr2 | tr -d '\r')
seen() { curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $T2" "$API/v2/images/$ID"; }
[ "$(seen)" = 404 ] || fail "the other project sees the image before it is shared"
"$BAKER" push --json --member "$OTHER_PID" images/manifest.json glance:ks/small > p3.json 2> p3.err || { cat p3.err >&2; fail "push with a member"; }
[ "$(jq -r .bytes_sent p3.json)" = 0 ] && [ "$(jq -r '.members_added | join(",")' p3.json)" = "$OTHER_PID" ] || { cat p3.json; fail "member report"; }
[ "$(seen)" = 200 ] || fail "the member project does not see the shared image"
curl -sf -X PUT -H "X-Auth-Token: $T2" -H 'Content-Type: application/json' -d '{"status":"accepted"}' \
  "$API/v2/images/$ID/members/$OTHER_PID" > /dev/null || fail "the member could not accept"
curl -sf -H "X-Auth-Token: $T2" "$API/v2/images?visibility=shared" | jq -e --arg id "$ID" '[.images[].id] | index($id)' >/dev/null \
  || fail "the accepted image is not in the member's list"
"$BAKER" push --json --member "$OTHER_PID" images/manifest.json glance:ks/small > p4.json || fail "push with the member again"
[ "$(jq -c '[.members_added, .members_removed]' p4.json)" = "[[],[]]" ] || { cat p4.json; fail "members not idempotent"; }
"$BAKER" push --json --visibility private images/manifest.json glance:ks/small > p5.json || fail "push private"
[ "$(seen)" = 404 ] || fail "a private image is still seen by the former member"
pass "members: shared with another keystone project, idempotent; private hides it"

# The same from a template's publish entry: a bake into a fresh folder gives the same image, which
# the publish reuses (0 bytes) and shares with exactly the projects named.
{ cat small.yaml; printf 'publish:\n  - glance: { cloud: ks, members: [%s] }\n' "$OTHER_PID"; } > shared.yaml
"$BAKER" bake --json -o images-shared shared.yaml > b-shared.json 2> b-shared.err ||
  { cat b-shared.err >&2; fail "bake publishing with members"; }
[ "$(jq -r .image_digest images-shared/manifest.json)" = "$D" ] || fail "the bake with a publish entry gave another image"
[ "$(seen)" = 200 ] || { cat b-shared.json b-shared.err; fail "the template's members: did not share the image"; }
pass "members: from the template's publish entry"
