/* A `debian` input's package set from the lock or from apt; see debian-input.h. */
#include "debian-input.h"

#include "apt-resolve.h"
#include "log.h"

void debian_resolved_done(DebianResolved *r) {
        deb_package_set_done(&r->packages);
        package_diff_done(&r->changes);
        *r = (DebianResolved) {};
}

static void copy_set(const DebPackageSet *from, DebPackageSet *to) {
        *to = (DebPackageSet) {};
        for (size_t i = 0; i < from->n; i++)
                deb_package_set_add(to, &from->packages[i]);
}

int debian_input_resolve(const DebianRequest *req, const DebianResolve *o, DebianResolved *ret) {
        _cleanup_free_ char *arch = req->architecture ? xstrdup(req->architecture) : debian_host_architecture();
        _cleanup_free_ char *request = debian_request_canonical(req, arch);
        const LockInput *locked = o->lock ? lock_find(o->lock, o->input) : NULL;
        DebianResolved r = { .had_lock_entry = locked != NULL };

        _cleanup_free_ char *why = locked ? lock_input_mismatch(locked, request) : NULL;
        if (locked && !o->refresh && !(why && o->relock)) {
                if (why)
                        return log_error_errno(-EINVAL,
                                               "%s: input '%s' does not match its lock: %s; run 'baker lock --update' "
                                               "(or bake with --refresh) to resolve it again",
                                               o->lock_path, o->input, why);
                copy_set(&locked->packages, &r.packages);
                *ret = r;
                return 0;
        }

        _cleanup_free_ char *what = xasprintf("input '%s'", o->input);
        AptResolveOptions ao = { .state_dir = o->state_dir, .what = what };
        int k = apt_resolve(req, &ao, &r.packages);
        if (k < 0)
                return k;
        r.resolved = true;
        if (locked)
                package_diff(&locked->packages, &r.packages, &r.changes);
        if (o->lock)
                lock_set(o->lock, o->input, request, &r.packages);
        *ret = r;
        return 0;
}
