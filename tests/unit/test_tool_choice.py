"""The emulated model's choice of function from the caller's words (gemini_live_emulator.model.tool_choice)."""

from __future__ import annotations

from gemini_live_emulator.model.tool_choice import choose, first_number, score, words_of

WEATHER = {
    "name": "get_weather",
    "description": "Current weather in a city.",
    "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]},
}
TIME = {
    "name": "get_time",
    "description": "Current time in an IANA timezone.",
    "parameters": {"type": "OBJECT", "properties": {"timezone": {"type": "STRING"}}, "required": ["timezone"]},
}
TABLE = {
    "name": "bookTable",
    "description": "Reserve a table at the restaurant.",
    "parametersJsonSchema": {
        "type": "object",
        "properties": {
            "people": {"type": "integer"},
            "seating": {"type": "string", "enum": ["indoor", "terrace"], "default": "indoor"},
            "vegetarian": {"type": "boolean"},
        },
        "required": ["people"],
    },
}


def test_words_split_identifiers():
    assert words_of("get_weather bookTable, What's up?") == ["get", "weather", "book", "table", "what's", "up"]


def test_scores_follow_the_documented_weights():
    heard = {"weather", "city", "current"}
    assert score(heard, WEATHER) == 3 + 2  # a name word and a parameter name ("current" is a stopword)
    assert score({"table", "people", "restaurant"}, TABLE) == 3 + 2 + 1


def test_the_weather_question_calls_get_weather_with_the_city_said():
    choice = choose("what is the weather in chicago", [TIME, WEATHER])
    assert (choice.name, choice.args) == ("get_weather", {"city": "Chicago"})
    assert choose("how is the weather in new york today", [WEATHER]).args == {"city": "New York"}


def test_no_call_without_a_matching_word_or_a_required_argument():
    assert choose("he was not an ill disposed young man", [WEATHER, TIME]) is None
    assert choose("what is the weather like", [WEATHER]) is None  # no city said: the model asks
    assert choose("", [WEATHER]) is None


def test_numbers_enums_booleans_and_defaults():
    choice = choose("book a table for twenty two people on the terrace, vegetarian yes", [WEATHER, TABLE])
    assert choice.name == "bookTable"
    assert choice.args == {"people": 22, "seating": "terrace", "vegetarian": True}
    assert choose("a table for 4 people please", [TABLE]).args == {"people": 4, "seating": "indoor"}


def test_first_number():
    assert first_number("ten of clubs".split()) == 10
    assert first_number("about a hundred and five".split()) == 105
    assert first_number("it is 3.5 degrees".split()) == 3.5
    assert first_number("no numbers here".split()) is None
