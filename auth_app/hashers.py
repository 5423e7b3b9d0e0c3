from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's first recommended profile: 19 MiB, 2 passes, 1 lane.

    Django's own Argon2 defaults (100 MiB, 8 lanes) cost several times more per login on a 2-core
    machine without a matching gain for a web login. Hashes made with other parameters are
    re-hashed on the next successful login (`must_update`).
    """

    algorithm = "argon2"
    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1
