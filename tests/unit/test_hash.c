/* The string hash against FNV-1a's published 32-bit values: the probe schedule depends on them. */
#include "daemon/util/hash.h"
#include "check.h"

static void
test_known_values(void)
{
	CHECK_INT(vms_hash_str(""), 0x811c9dc5u); /* the offset basis */
	CHECK_INT(vms_hash_str("a"), 0xe40c292cu);
	CHECK_INT(vms_hash_str("foobar"), 0xbf9cf968u);
	/* A domain key as probesched spreads it: slot 522 of 1000, as before the move. */
	CHECK_INT(vms_hash_str("00000000-0000-4000-8000-000000000001"), 0xcf703da2u);
	CHECK_INT(vms_hash_str("00000000-0000-4000-8000-000000000001") % 1000u, 522);
}

static void
test_bytes_unsigned(void)
{
	/* Bytes >= 0x80 hash as unsigned whatever the signedness of char. */
	CHECK(vms_hash_str("\xff") != vms_hash_str("\x7f"));
	CHECK_INT(vms_hash_str("\xff"), (0x811c9dc5u ^ 0xffu) * 16777619u);
}

int
main(void)
{
	test_known_values();
	test_bytes_unsigned();
	return check_done("test_hash");
}
