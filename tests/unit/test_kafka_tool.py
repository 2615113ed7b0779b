from tests.kafka_tool import GroupPartition, parse_describe

# kafka-consumer-groups 4.4 --describe, as printed for a group with no active member
OUTPUT = """
Consumer group 'gtest' has no active members.

GROUP           TOPIC                PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID
gtest           HOME_CHECKIN_CREATED 0          3               8               5               -               -               -
gtest           HOME_CHECKIN_CREATED 1          -               10              -               c-1-abc         /127.0.0.1      c-1
"""  # noqa: E501


def test_describe_rows_are_read_by_their_header_and_dashes_are_none():
    assert parse_describe(OUTPUT) == [
        GroupPartition("gtest", "HOME_CHECKIN_CREATED", 0, 3, 8, 5, None, None, None),
        GroupPartition(
            "gtest", "HOME_CHECKIN_CREATED", 1, None, 10, None, "c-1-abc", "/127.0.0.1", "c-1"
        ),
    ]
    assert parse_describe("Error: Consumer group 'x' does not exist.\n") == []
