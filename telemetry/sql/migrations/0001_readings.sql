-- Telemetry store, common to both layouts: readings, latest state, dead letters,
-- and the helper aggregates the hourly rollups are defined with.
--
-- metrics is JSONB, not a narrow (device_id, ts, name, value) table: metrics are
-- sparse and class-specific (a collar has activity and body_temp_c, a genset
-- power_kw and energy_kwh), typically 0-4 per reading. A narrow table would
-- multiply the row count and the COPY volume by that factor and need a join or
-- a pivot for every rollup; JSONB keeps one row per reading, compresses well in
-- TimescaleDB's columnar chunks, and the rollups read known keys with ->>.

-- device_id uses the "C" collation: ids are ASCII ([A-Za-z0-9_.-]), and byte
-- comparison makes every index insert and sort on it several times cheaper.
CREATE TABLE readings (
    device_id    text COLLATE "C" NOT NULL,
    ts           timestamptz      NOT NULL,
    received_at  timestamptz,
    seq          bigint,
    lat          double precision,
    lon          double precision,
    alt_m        double precision,
    speed_kmh    double precision,
    heading_deg  double precision,
    hdop         double precision,
    sats         smallint,
    ignition     boolean,
    engine_on    boolean,
    engine_hours double precision,
    odometer_km  double precision,
    fuel_pct     double precision,
    battery_v    double precision,
    ext_power    boolean,
    tamper       boolean,
    alarms       text[],
    metrics      jsonb,
    source       text             NOT NULL DEFAULT 'json',
    topic        text,
    message_id   text,
    late         boolean          NOT NULL DEFAULT false,
    -- seq when the terminal sends one, else a 64-bit hash of the content:
    -- at-least-once delivery stores a reading once.
    dedup_key    bigint           NOT NULL
);

-- The dedup key, and the access path of every per-device time-range query.
CREATE UNIQUE INDEX readings_device_ts_key ON readings (device_id, ts, dedup_key);

-- Newest reading per device BY EVENT TIME (a late, older reading never replaces it).
CREATE TABLE latest_state (
    device_id        text COLLATE "C" PRIMARY KEY,
    ts               timestamptz      NOT NULL,
    received_at      timestamptz,
    seq              bigint,
    lat              double precision,
    lon              double precision,
    alt_m            double precision,
    speed_kmh        double precision,
    heading_deg      double precision,
    hdop             double precision,
    sats             smallint,
    ignition         boolean,
    engine_on        boolean,
    engine_hours     double precision,
    odometer_km      double precision,
    fuel_pct         double precision,
    battery_v        double precision,
    ext_power        boolean,
    tamper           boolean,
    alarms           text[],
    metrics          jsonb,
    source           text             NOT NULL,
    topic            text,
    message_id       text,
    late             boolean          NOT NULL DEFAULT false,
    dedup_key        bigint           NOT NULL,
    -- newest receive time of any stored reading, whatever its event time
    last_received_at timestamptz
) WITH (fillfactor = 70);  -- room for HOT updates: every batch rewrites these rows

CREATE TABLE dead_letters (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    topic       text,
    payload     bytea,
    reason      text        NOT NULL,
    stage       text        NOT NULL
        CHECK (stage IN ('decode', 'validate', 'identify', 'write')),
    device_id   text
);
CREATE INDEX dead_letters_received_at ON dead_letters (received_at);
CREATE INDEX dead_letters_device ON dead_letters (device_id) WHERE device_id IS NOT NULL;

-- Great-circle distance in metres (haversine, mean Earth radius 6371008.8 m).
CREATE FUNCTION aw_haversine_m(lat1 float8, lon1 float8, lat2 float8, lon2 float8)
RETURNS float8 LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT 2 * 6371008.8 * asin(least(1.0, sqrt(
        sin(radians(lat2 - lat1) / 2) ^ 2
        + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2)))
$$;

-- The hourly rollups gather each bucket's readings in time order into one
-- array of rows {epoch, moving, operating, lat, lon} (array_agg with ORDER BY,
-- built in and cheap) and walk it once in these functions. Custom aggregates
-- with SQL state functions cost 5-40 us a row; this costs about 1.
--
-- aw_path_of: metres along consecutive positions (rows without one skipped).
CREATE FUNCTION aw_path_of(a float8[]) RETURNS float8
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    total float8 := 0;
    plat float8;
    plon float8;
    i integer;
BEGIN
    IF a IS NULL THEN
        RETURN 0;
    END IF;
    FOR i IN 1 .. coalesce(array_length(a, 1), 0) LOOP
        IF a[i][4] IS NOT NULL AND a[i][5] IS NOT NULL THEN
            IF plat IS NOT NULL THEN
                total := total + 2 * 6371008.8 * asin(least(1.0, sqrt(
                    sin(radians(a[i][4] - plat) / 2) ^ 2
                    + cos(radians(plat)) * cos(radians(a[i][4]))
                      * sin(radians(a[i][5] - plon) / 2) ^ 2)));
            END IF;
            plat := a[i][4];
            plon := a[i][5];
        END IF;
    END LOOP;
    RETURN total;
END
$$;

-- aw_minutes_of: minutes the flag in column k (2 moving, 3 operating) held.
-- Each reading stands for the time to the next one, at most 600 s (a longer
-- gap is missing data, not operation); the last reading of the bucket stands
-- for the last positive gap seen (60 s if there is none). Capped at 60 minutes.
-- Exact for any regular cadence up to 10 minutes.
CREATE FUNCTION aw_minutes_of(a float8[], k integer) RETURNS float8
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    total float8 := 0;
    lastgap float8 := 0;
    gap float8;
    n integer := coalesce(array_length(a, 1), 0);
    i integer;
BEGIN
    IF n = 0 THEN
        RETURN 0;
    END IF;
    FOR i IN 2 .. n LOOP
        gap := a[i][1] - a[i - 1][1];
        IF a[i - 1][k] = 1 THEN
            total := total + least(gap, 600);
        END IF;
        IF gap > 0 THEN
            lastgap := gap;
        END IF;
    END LOOP;
    IF a[n][k] = 1 THEN
        total := total + least(CASE WHEN lastgap > 0 THEN lastgap ELSE 60 END, 600);
    END IF;
    RETURN least(total, 3600) / 60.0;
END
$$;
