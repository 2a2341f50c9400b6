#pragma once
/* Whether qemu can use KVM here. /dev/kvm existing is not enough: on some hosts it opens fine but
 * qemu aborts when it sets up the vCPU, so the probe starts a paused VM and sees whether it stays. */
#include <stdbool.h>

/* Cached after the first call. BAKER_ACCEL=kvm|tcg overrides the probe. */
bool accel_kvm_usable(void);
