-- Schemas of the warehouse (SPEC 2, STYLE "Layered names").
create schema if not exists staging;
create schema if not exists marts;
create schema if not exists audit;
create schema if not exists bi;
