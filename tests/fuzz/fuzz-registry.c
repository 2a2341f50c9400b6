/* Registry input parsers: references (user input), WWW-Authenticate challenges and Link headers
 * (registry responses). */
#include <stdint.h>

#include "registry-oci.h"
#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = xstrndup((const char *) data, size);
        RegistryRef *ref = NULL;
        if (registry_ref_parse(s, &ref) >= 0) {
                char *a = registry_ref_repository_string(ref);
                free(a);
                registry_ref_free(ref);
        }
        char *scheme = NULL;
        json_t *j = registry_oci_parse_challenge(s, &scheme);
        json_decref(j);
        free(scheme);
        free(registry_oci_link_next(s));
        free(s);
        return 0;
}
