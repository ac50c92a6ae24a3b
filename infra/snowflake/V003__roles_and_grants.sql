-- Three roles, least privilege, under SYSADMIN:
--   ${loader_role}     writes RAW (tables, and the temporary stages its PUT + COPY INTO loads use);
--   ${transform_role}  reads RAW, builds STAGING, INTERMEDIATE, MARTS and ANALYTICS (dbt);
--   ${reader_role}    reads MARTS (analysts and the API's history endpoints).
CREATE ROLE IF NOT EXISTS ${loader_role};
CREATE ROLE IF NOT EXISTS ${transform_role};
CREATE ROLE IF NOT EXISTS ${reader_role};
GRANT ROLE ${loader_role} TO ROLE SYSADMIN;
GRANT ROLE ${transform_role} TO ROLE SYSADMIN;
GRANT ROLE ${reader_role} TO ROLE SYSADMIN;

GRANT USAGE ON WAREHOUSE ${loader_warehouse} TO ROLE ${loader_role};
GRANT USAGE ON DATABASE ${database} TO ROLE ${loader_role};
GRANT USAGE, CREATE TABLE, CREATE STAGE ON SCHEMA ${database}.${raw_schema} TO ROLE ${loader_role};
GRANT SELECT, INSERT, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA ${database}.${raw_schema} TO ROLE ${loader_role};
GRANT SELECT, INSERT, DELETE, TRUNCATE ON FUTURE TABLES IN SCHEMA ${database}.${raw_schema} TO ROLE ${loader_role};

GRANT USAGE ON WAREHOUSE ${transform_warehouse} TO ROLE ${transform_role};
GRANT USAGE ON DATABASE ${database} TO ROLE ${transform_role};
GRANT USAGE ON SCHEMA ${database}.${raw_schema} TO ROLE ${transform_role};
GRANT SELECT ON ALL TABLES IN SCHEMA ${database}.${raw_schema} TO ROLE ${transform_role};
GRANT SELECT ON FUTURE TABLES IN SCHEMA ${database}.${raw_schema} TO ROLE ${transform_role};
GRANT USAGE, CREATE TABLE, CREATE VIEW ON SCHEMA ${database}.STAGING TO ROLE ${transform_role};
GRANT USAGE, CREATE TABLE, CREATE VIEW ON SCHEMA ${database}.INTERMEDIATE TO ROLE ${transform_role};
GRANT USAGE, CREATE TABLE, CREATE VIEW ON SCHEMA ${database}.MARTS TO ROLE ${transform_role};
GRANT USAGE, CREATE TABLE, CREATE VIEW ON SCHEMA ${database}.ANALYTICS TO ROLE ${transform_role};

GRANT USAGE ON WAREHOUSE ${reader_warehouse} TO ROLE ${reader_role};
GRANT USAGE ON DATABASE ${database} TO ROLE ${reader_role};
GRANT USAGE ON SCHEMA ${database}.MARTS TO ROLE ${reader_role};
GRANT SELECT ON ALL TABLES IN SCHEMA ${database}.MARTS TO ROLE ${reader_role};
GRANT SELECT ON FUTURE TABLES IN SCHEMA ${database}.MARTS TO ROLE ${reader_role};
GRANT SELECT ON ALL VIEWS IN SCHEMA ${database}.MARTS TO ROLE ${reader_role};
GRANT SELECT ON FUTURE VIEWS IN SCHEMA ${database}.MARTS TO ROLE ${reader_role};
