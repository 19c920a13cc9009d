-- Least-privilege replication user for cachesync, and the engine's own schema.
CREATE DATABASE IF NOT EXISTS cachesync;
CREATE USER IF NOT EXISTS 'cachesync'@'%' IDENTIFIED BY 'cachesync';
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'cachesync'@'%';
GRANT SELECT ON app.* TO 'cachesync'@'%';
GRANT ALL ON cachesync.* TO 'cachesync'@'%';
