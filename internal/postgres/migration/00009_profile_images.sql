-- +goose Up
-- Profile images (Open edX's profile_image): each account's upload as one square JPEG in
-- each size, kept in the database so that every replica serves them and every backup
-- carries them. name is the stem of the files' names, <name>_<size>.jpg, as Open edX
-- names them: the MD5 of the seed below followed by the username. The core renames an
-- account's rows in the transaction that changes its username. uploaded_at repeats the
-- account's profile_image_uploaded_at, so that a read of one row knows its version.
CREATE TABLE profile_images (
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    size        INTEGER NOT NULL CHECK (size IN (500, 120, 50, 30)),
    name        TEXT COLLATE "C" NOT NULL,
    data        BYTEA NOT NULL,
    uploaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, size)
);
CREATE UNIQUE INDEX profile_images_name ON profile_images (name, size);

-- The seed of the images' names, made once, here, so that every replica, every command
-- and every backup of this store names an account's images alike. gen_random_uuid() is
-- built in from PostgreSQL 13 and draws on a strong random source.
CREATE TABLE profile_image_seed (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seed TEXT NOT NULL
);
INSERT INTO profile_image_seed (id, seed) VALUES (1, replace(gen_random_uuid()::text, '-', ''));

-- +goose Down
DROP TABLE profile_image_seed;
DROP TABLE profile_images;
