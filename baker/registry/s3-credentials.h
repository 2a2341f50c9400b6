#pragma once
/* S3 credentials and region, found the way the AWS CLI and SDKs find them, so a machine set up for
 * `aws` needs nothing more for baker:
 *   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) in the environment;
 *   2. the shared credentials file ($AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials),
 *      section [PROFILE];
 *   3. the config file ($AWS_CONFIG_FILE, else ~/.aws/config), section [profile PROFILE] (or
 *      [default]),
 * with PROFILE = $AWS_PROFILE, else "default". Never from the command line. The secret and the
 * session token are registered with log_add_secret(), so no log line can show them. */
#include "s3-sigv4.h"

/* -ENOKEY (logged, naming the places looked at) when none are found; -EINVAL for a half-set pair. */
int s3_credentials_load(S3Credentials **ret);

/* The region to sign for when the publish target names none: $AWS_REGION, $AWS_DEFAULT_REGION, the
 * profile's "region" in the config file, the region in an AWS endpoint host
 * ("s3.eu-west-1.amazonaws.com"), "auto" for storage.googleapis.com, else "us-east-1". */
char *s3_region_default(const char *host);

/* Reads KEY in [SECTION] of an INI-style AWS file (exposed for tests). 0 and *ret = NULL if the
 * file, the section or the key is missing. */
int s3_ini_get(const char *path, const char *section, const char *key, char **ret);
