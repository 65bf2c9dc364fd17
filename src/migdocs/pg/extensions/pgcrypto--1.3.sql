-- pgcrypto 1.3 for migdocs' replay server: every function of contrib/pgcrypto with its
-- signature. digest() and hmac() (MD5 and the SHA-2 family), gen_random_bytes() and
-- gen_random_uuid() work, on core functions; what needs pgcrypto's own C code (SHA-1, crypt,
-- PGP, ciphers) raises a clear error when called (replay such a history with --scratch-url).
-- Creating them, and using them in defaults, checks or functions, replays as it does on a
-- server with pgcrypto.

CREATE FUNCTION digest(data bytea, type text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        CASE pg_catalog.lower(type)
            WHEN 'md5' THEN RETURN pg_catalog.decode(pg_catalog.md5(data), 'hex');
            WHEN 'sha224' THEN RETURN pg_catalog.sha224(data);
            WHEN 'sha256' THEN RETURN pg_catalog.sha256(data);
            WHEN 'sha384' THEN RETURN pg_catalog.sha384(data);
            WHEN 'sha512' THEN RETURN pg_catalog.sha512(data);
            ELSE RAISE EXCEPTION 'digest(%) needs pgcrypto''s own code, which migdocs'' replay '
                'package of pgcrypto does not have: replay on a server with pgcrypto '
                '(--scratch-url)', type;
        END CASE;
    END
    $$;

CREATE FUNCTION digest(data text, type text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT digest(pg_catalog.convert_to(data, 'UTF8'), type) $$;

CREATE FUNCTION gen_random_bytes(count integer) RETURNS bytea
    LANGUAGE sql VOLATILE STRICT PARALLEL SAFE
    AS $$
    SELECT pg_catalog.decode(
        pg_catalog.string_agg(
            pg_catalog.lpad(pg_catalog.to_hex((pg_catalog.random() * 255)::integer), 2, '0'),
            ''),
        'hex')
    FROM pg_catalog.generate_series(1, count)
    $$;

CREATE FUNCTION gen_random_uuid() RETURNS uuid
    LANGUAGE sql VOLATILE PARALLEL SAFE
    AS $$ SELECT pg_catalog.gen_random_uuid() $$;

CREATE FUNCTION hmac(data text, key text, type text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT hmac(pg_catalog.convert_to(data, 'UTF8'), pg_catalog.convert_to(key, 'UTF8'), type)
    $$;

-- HMAC as RFC 2104 defines it, on the digests core has: the key (hashed first when longer
-- than the digest's block) padded to a block, XORed with 0x36 inside and 0x5c outside.
CREATE FUNCTION hmac(data bytea, key bytea, type text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    DECLARE
        hash text := CASE pg_catalog.lower(type)
            WHEN 'md5' THEN 'pg_catalog.decode(pg_catalog.md5($1), ''hex'')'
            WHEN 'sha224' THEN 'pg_catalog.sha224($1)'
            WHEN 'sha256' THEN 'pg_catalog.sha256($1)'
            WHEN 'sha384' THEN 'pg_catalog.sha384($1)'
            WHEN 'sha512' THEN 'pg_catalog.sha512($1)'
        END;
        block integer := CASE WHEN pg_catalog.lower(type) IN ('sha384', 'sha512') THEN 128
            ELSE 64 END;
        padded bytea := key;
        inner_key bytea;
        outer_key bytea;
        inner_hash bytea;
        result bytea;
    BEGIN
        IF hash IS NULL THEN
            RAISE EXCEPTION 'hmac(%) needs pgcrypto''s own code, which migdocs'' replay '
                'package of pgcrypto does not have: replay on a server with pgcrypto '
                '(--scratch-url)', type;
        END IF;
        IF pg_catalog.length(padded) > block THEN
            EXECUTE 'SELECT ' || hash INTO padded USING padded;
        END IF;
        padded := padded
            || pg_catalog.decode(pg_catalog.repeat('00', block - pg_catalog.length(padded)), 'hex');
        inner_key := padded;
        outer_key := padded;
        FOR i IN 0 .. block - 1 LOOP
            inner_key := pg_catalog.set_byte(inner_key, i, pg_catalog.get_byte(padded, i) # 54);
            outer_key := pg_catalog.set_byte(outer_key, i, pg_catalog.get_byte(padded, i) # 92);
        END LOOP;
        EXECUTE 'SELECT ' || hash INTO inner_hash USING inner_key || data;
        EXECUTE 'SELECT ' || hash INTO result USING outer_key || inner_hash;
        RETURN result;
    END
    $$;

CREATE FUNCTION crypt(password text, salt text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'crypt() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION gen_salt(type text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'gen_salt() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION gen_salt(type text, iter_count integer) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'gen_salt() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION encrypt(data bytea, key bytea, type text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'encrypt() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION decrypt(data bytea, key bytea, type text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'decrypt() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION encrypt_iv(data bytea, key bytea, iv bytea, type text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'encrypt_iv() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION decrypt_iv(data bytea, key bytea, iv bytea, type text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'decrypt_iv() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_sym_encrypt(data text, psw text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_sym_encrypt() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_sym_encrypt(data text, psw text, options text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_sym_encrypt() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_sym_encrypt_bytea(data bytea, psw text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_sym_encrypt_bytea() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_sym_encrypt_bytea(data bytea, psw text, options text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_sym_encrypt_bytea() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_sym_decrypt(msg bytea, psw text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_sym_decrypt() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_sym_decrypt(msg bytea, psw text, options text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_sym_decrypt() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_sym_decrypt_bytea(msg bytea, psw text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_sym_decrypt_bytea() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_sym_decrypt_bytea(msg bytea, psw text, options text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_sym_decrypt_bytea() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_pub_encrypt(data text, key bytea) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_pub_encrypt() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_pub_encrypt(data text, key bytea, options text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_pub_encrypt() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_pub_encrypt_bytea(data bytea, key bytea) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_pub_encrypt_bytea() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_pub_encrypt_bytea(data bytea, key bytea, options text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_pub_encrypt_bytea() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_pub_decrypt(msg bytea, key bytea) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_pub_decrypt() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_pub_decrypt(msg bytea, key bytea, psw text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_pub_decrypt() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_pub_decrypt(msg bytea, key bytea, psw text, options text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_pub_decrypt() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_pub_decrypt_bytea(msg bytea, key bytea) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_pub_decrypt_bytea() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_pub_decrypt_bytea(msg bytea, key bytea, psw text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_pub_decrypt_bytea() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_pub_decrypt_bytea(msg bytea, key bytea, psw text, options text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_pub_decrypt_bytea() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_key_id(data bytea) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_key_id() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION armor(data bytea) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'armor() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION armor(data bytea, keys text[], vals text[]) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'armor() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION dearmor(data text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'dearmor() needs pgcrypto''s own code, which migdocs'' replay package '
            'of pgcrypto does not have: replay on a server with pgcrypto (--scratch-url)';
    END
    $$;

CREATE FUNCTION pgp_armor_headers(data text, OUT key text, OUT value text)
    RETURNS SETOF record
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'pgp_armor_headers() needs pgcrypto''s own code, which migdocs'' '
            'replay package of pgcrypto does not have: replay on a server with pgcrypto '
            '(--scratch-url)';
    END
    $$;
