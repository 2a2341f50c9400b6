#pragma once
/* Channels: named pointers at image digests (nightly, staging, prod), kept entirely in the registry
 * so that any machine with access sees the same state. Written once over the registry interface.
 *
 * In the registry, for a repository and channel C:
 *   tag "C"                 the image manifest C points at now (a plain tag: `skopeo inspect
 *                           docker://host/repo:C` and KubeVirt can use it directly)
 *   tag "baker.channel.C"   the history: an OCI manifest, artifactType application/vnd.baker.channel.v1,
 *                           empty config, one layer application/vnd.baker.channel.history.v1+json:
 *                           {"channel":"C","entries":[{"action":"promote"|"rollback","digest":…,
 *                           "version":…,"date":RFC3339,"by":"user@host"}, …]} oldest first
 *   revocations             per revoked image manifest, a referrer artifact (subject = the image),
 *                           artifactType application/vnd.baker.revocation.v1, empty config and layer,
 *                           annotations vnd.baker.revocation.reason/.by and org.opencontainers.image.created;
 *                           found through the referrers API or the "sha256-<hex>" fallback index
 * Order of writes: the history manifest is stored before the channel tag moves, so the history names
 * every digest the tag ever held; the tag is moved by PUTting the (already present) image manifest
 * under it, so it never names a missing manifest. The live tag is the truth for resolve; rollback
 * replays the history as a stack (promote pushes, rollback pops) and skips revoked or deleted
 * digests. */
#include <jansson.h>
#include <stdbool.h>

#include "registry.h"

#define BAKER_CHANNEL_ARTIFACT_TYPE "application/vnd.baker.channel.v1"
#define BAKER_CHANNEL_HISTORY_MEDIA_TYPE "application/vnd.baker.channel.history.v1+json"
#define BAKER_REVOCATION_ARTIFACT_TYPE "application/vnd.baker.revocation.v1"
#define CHANNEL_HISTORY_TAG_PREFIX "baker.channel."
#define ANNOTATION_REVOCATION_REASON "vnd.baker.revocation.reason"
#define ANNOTATION_REVOCATION_BY "vnd.baker.revocation.by"
#define ANNOTATION_CHANNEL "vnd.baker.channel"

bool channel_name_valid(const char *name);
/* "user@host" for the "by" of a history entry ($BAKER_USER, else $USER). */
char *channel_who(void);

/* Points channel at digest (which must be an image manifest in the registry and not revoked).
 * Returns 1 if moved, 0 if it already pointed there. ret_previous (optional): the old digest or
 * NULL. */
int channel_promote(Registry *r, const char *channel, const char *digest, char **ret_previous);
/* Moves channel back to what it pointed at before the current digest. ret_digest: the new target. */
int channel_rollback(Registry *r, const char *channel, char **ret_digest);
/* The channel's current digest; -ENOENT if there's no such channel, -EKEYREVOKED (logged) if the
 * digest it names is revoked. */
int channel_resolve(Registry *r, const char *channel, char **ret_digest);
typedef struct ChannelEntry {
        char *action, *digest, *version, *date, *by; /* as recorded; NULL when absent */
        bool revoked;
        char *reason;  /* when revoked */
        bool present;  /* the manifest is still in the registry */
} ChannelEntry;

typedef struct ChannelReport {
        char *channel;
        char *current;          /* the digest the channel's tag names now, or NULL */
        ChannelEntry *entries;  /* newest first */
        size_t n_entries;
} ChannelReport;

void channel_report_done(ChannelReport *c);
/* The history with each entry marked revoked or deleted; -ENOENT (logged) for no such channel. */
int channel_report(Registry *r, const char *channel, ChannelReport *ret);
/* {channel, current, entries: [{action, digest, version?, date, by, revoked, reason?, present}]} */
json_t *channel_report_to_json(const ChannelReport *c);

/* Every channel of the repository, sorted: a strv (strv.h) and its length. */
int channel_list(Registry *r, char ***ret, size_t *ret_n);

/* Marks digest revoked (idempotent: an existing revocation is kept). */
int channel_revoke(Registry *r, const char *digest, const char *reason, char **ret_revocation_digest);
typedef struct RevokeReport {
        bool revoked;     /* now; false: it was revoked already */
        char *revocation; /* the revocation artifact's digest when made now, else NULL */
        char **channels;  /* strv: the channels still pointing at it (they no longer resolve) */
} RevokeReport;

void revoke_report_done(RevokeReport *v);
/* channel_revoke(), then the channels that still point at digest, each warned about (logged) with
 * the rollback that fixes it. */
int channel_revoke_image(Registry *r, const char *digest, const char *reason, RevokeReport *ret);

/* 1 and the reason if digest is revoked, 0 if not. */
int channel_revocation(Registry *r, const char *digest, char **ret_reason);

/* The push record: tag "baker.pushes" holds, in the history format above, one entry per push
 * that moved a tag ({"action": "push", digest, tag, version, date, by}), oldest first, the last
 * PUSH_RECORD_MAX kept. It is the registry's record of publishing order, which the image
 * manifests cannot give (reproducible builds give them the same "created"). */
#define PUSH_RECORD_TAG "baker.pushes"
#define PUSH_RECORD_MAX 1000
int channel_record_push(Registry *r, const char *digest, const char *tag, const char *version);
/* The pushed digests, oldest first (a strv, NULL when nothing is recorded). */
int channel_pushes(Registry *r, char ***ret);
