-- Version 4: a user's subject (its id, or its username where the id is
-- empty) is unique, so that two users never share a "sub" and
-- UpdatePasswordHash, which finds a user by it, changes one user only
-- (a user named "bob" without id, and one whose id is "bob", collided).
CREATE UNIQUE INDEX IF NOT EXISTS tollgate_users_subject ON tollgate_users ((CASE WHEN id = '' THEN username ELSE id END));
