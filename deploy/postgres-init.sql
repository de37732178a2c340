-- The app database (routes, subscriptions, profiles, ...) beside Temporal's own databases.
CREATE USER mdmflow WITH PASSWORD 'mdmflow';
CREATE DATABASE mdmflow OWNER mdmflow;
