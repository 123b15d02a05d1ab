"""How passwords are kept: Argon2id at OWASP's recommended minimum (19 MiB of memory, 2
iterations, 1 lane), about 30 ms of one core a sign-in where Django's PBKDF2 took 340 ms.

A national voting day signs in millions of residents; at PBKDF2's cost the sign-ins alone needed
more cores than everything else the day asks (README, "Scaling past one machine"). Argon2id is
memory-hard, so the 19 MiB each guess needs makes an attacker's GPUs slower per guess than
PBKDF2's iterations would, at a tenth of our CPU.

Hashes made before keep working: Django checks them with the hasher named in each hash (PBKDF2,
or Argon2 at other costs) and, when the password was right, stores it again with this one, so
everyone moves over at their next sign-in.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Django's Argon2 (always the id variant) at OWASP's settings instead of its 100 MiB and
    8 lanes, which would cost 5 times the memory and CPU a sign-in. Same algorithm name: a hash
    at other costs is read as usual and replaced at the next sign-in (``must_update``)."""

    memory_cost = 19 * 1024  # KiB
    time_cost = 2
    parallelism = 1
