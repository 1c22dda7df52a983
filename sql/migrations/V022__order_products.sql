-- Products of the sales report's orders (issue 19: upsell / cross-sell rate), read from the
-- report's optional product / product-category columns; merged on line_key like the orders
-- (the report with the latest as-of date wins, ties to the later-loaded file).

create table if not exists marts.fct_order_product (
    line_key          varchar   not null primary key,
    order_id          varchar   not null,
    product           varchar,
    product_category  varchar,
    report_as_of      date,
    source_file       varchar   not null,
    source_line       bigint    not null,
    file_seq          bigint    not null
);
comment on table marts.fct_order_product is 'One row per product line of an order (sales report rows naming a product or a product category): upsell_cross_sell_rate. Amounts stay in marts.fct_order.';
comment on column marts.fct_order_product.line_key is 'order_id|normalised category|normalised product.';
comment on column marts.fct_order_product.order_id is 'The order (marts.fct_order.order_id).';
comment on column marts.fct_order_product.product is 'Product as written in the report; null when only a category is given.';
comment on column marts.fct_order_product.product_category is 'Product category as written; null when only a product is given.';
comment on column marts.fct_order_product.report_as_of is 'Latest order date of the report the line came from (precedence).';
comment on column marts.fct_order_product.source_file is 'Report the line was read from.';
comment on column marts.fct_order_product.source_line is 'Row of that report.';
comment on column marts.fct_order_product.file_seq is 'Ingest sequence number of that report.';
