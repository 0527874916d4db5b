from dagster import DynamicPartitionsDefinition

# one partition per document; the raw/ sensor and the CLI add keys, the API's uploads keep their doc_id
documents_partitions = DynamicPartitionsDefinition(name="documents")
