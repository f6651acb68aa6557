using System.Text;
using Vmi.Hypervisors.Costs;
using static Vmi.Hypervisors.Tests.Costs.ProfileText;

namespace Vmi.Hypervisors.Tests.Costs;

/// <summary>Each way a profile can be wrong, one at a time: always a <see cref="CostProfileException"/> naming file, key path and line.</summary>
public class ProfileErrorTests
{
    private const string ExitIoCycles = "\"cycles\": 15825";

    [Fact]
    public void Unknown_cost_key()
    {
        string text = P4With("\"ExitIo\": {", "\"ExitFoo\": {\"cycles\": 1, \"source\": \"x\"},\n    \"ExitIo\": {");
        var e = Refused(text, "costs.ExitFoo", "unknown key", LineOf(text, "\"ExitFoo\""));
        Assert.Contains("TrapAndEmulate", e.Message); // lists what would have been accepted
    }

    [Fact]
    public void Unknown_top_level_key()
    {
        string text = P4With("\"costs\": {", "\"extra\": 1,\n  \"costs\": {");
        Refused(text, "extra", "unknown key; expected name, description, clockHz, cpi, costs", LineOf(text, "\"extra\""));
    }

    [Fact]
    public void Unknown_key_inside_a_cost()
    {
        string text = P4With(ExitIoCycles, ExitIoCycles + ", \"note\": \"x\"");
        Refused(text, "costs.ExitIo.note", "unknown key; expected cycles, source", LineOf(text, "\"note\""));
    }

    [Fact]
    public void Missing_cost_key()
    {
        string text = P4Without("ExitIo");
        Refused(text, "costs.ExitIo", "missing: every event kind needs a cost", LineOf(text, "\"costs\": {"));
    }

    [Fact]
    public void Missing_top_level_key()
    {
        string text = P4With("\"name\": \"p4-2006\",", "");
        Refused(text, "name", "missing", 1);
    }

    [Fact]
    public void Negative_cycles()
    {
        string text = P4With(ExitIoCycles, "\"cycles\": -5");
        Refused(text, "costs.ExitIo.cycles", "must not be negative, got -5", LineOf(text, "-5"));
    }

    [Fact]
    public void Fractional_cycles()
    {
        string text = P4With(ExitIoCycles, "\"cycles\": 15825.5");
        Refused(text, "costs.ExitIo.cycles", "expected a whole number of cycles, got 15825.5", LineOf(text, "15825.5"));
    }

    [Fact]
    public void Cycles_too_large_for_a_long()
    {
        string text = P4With(ExitIoCycles, "\"cycles\": 99999999999999999999");
        Refused(text, "costs.ExitIo.cycles", "expected a whole number of cycles", LineOf(text, "9999"));
    }

    [Fact]
    public void Cycles_as_a_string()
    {
        string text = P4With(ExitIoCycles, "\"cycles\": \"15825\"");
        Refused(text, "costs.ExitIo.cycles", "expected a whole number of cycles, got a string", LineOf(text, "\"15825\""));
    }

    [Fact]
    public void Missing_source()
    {
        string text = P4WithCost("ExitIo", "\"ExitIo\": { \"cycles\": 15825 }");
        Refused(text, "costs.ExitIo.source", "missing", LineOf(text, "\"ExitIo\""));
    }

    [Fact]
    public void Empty_source()
    {
        string text = P4With("\"source\": \"Adams & Agesen 2006: trapping and emulating rdtsc costs 2030 cycles on the P4\"", "\"source\": \"  \"");
        Refused(text, "costs.TrapAndEmulate.source", "must not be empty", LineOf(text, "\"  \""));
    }

    [Fact]
    public void Source_that_is_not_a_string()
    {
        string text = P4With("\"source\": \"Adams & Agesen 2006: trapping and emulating rdtsc costs 2030 cycles on the P4\"", "\"source\": 7");
        Refused(text, "costs.TrapAndEmulate.source", "expected a string, got the number 7", LineOf(text, "\"source\": 7"));
    }

    [Fact]
    public void Cost_that_is_not_an_object()
    {
        string text = P4With("\"ExitIo\": {", "\"ExitIo\": 15825, \"ExitIoX\": {");
        Refused(text, "costs.ExitIo", "expected an object, got the number 15825", LineOf(text, "\"ExitIo\": 15825"));
    }

    [Fact]
    public void Duplicate_key_in_another_case()
    {
        string text = P4With("\"ExitIo\": {", "\"exitio\": {\"cycles\": 1, \"source\": \"x\"},\n    \"ExitIo\": {");
        Refused(text, "costs.ExitIo", "duplicate key", LineOf(text, "\"ExitIo\": {"));
    }

    [Theory]
    [InlineData("0", "the clock must be 1 to")]
    [InlineData("-3800000000", "the clock must be 1 to")]
    [InlineData("3.8e9", "expected a whole number of Hz, got 3.8e9")]
    [InlineData("3800000000.5", "expected a whole number of Hz")]
    [InlineData("\"3.8 GHz\"", "expected a whole number of Hz, got a string")]
    [InlineData("1000000000001", "the clock must be 1 to 1000000000000 Hz")]
    public void Bad_clock(string value, string message)
    {
        string text = P4With("\"value\": 3800000000", $"\"value\": {value}");
        Refused(text, "clockHz.value", message, LineOf(text, $"\"value\": {value}"));
    }

    [Fact]
    public void Clock_without_its_source_object()
    {
        string text = P4With("\"clockHz\": {", "\"clockHz\": 3800000000, \"x\": {");
        Refused(text, "clockHz", "expected an object, got the number 3800000000", LineOf(text, "\"clockHz\""));
    }

    [Theory]
    [InlineData("0", "CPI must be 0.001 to 1000, got 0")]
    [InlineData("-1.0", "CPI must be 0.001 to 1000, got -1.0")]
    [InlineData("1.0005", "CPI must have at most three decimal places, got 1.0005")]
    [InlineData("1001", "CPI must be 0.001 to 1000, got 1001")]
    [InlineData("1e400", "CPI must be 0.001 to 1000, got 1e400")]
    [InlineData("null", "CPI must be a number, got null")]
    public void Bad_cpi(string value, string message)
    {
        string text = P4With("\"value\": 1.0,", $"\"value\": {value},");
        Refused(text, "cpi.value", message, LineOf(text, $"\"value\": {value},"));
    }

    [Fact]
    public void Cpi_too_slow_for_the_clock()
    {
        string text = P4With("\"value\": 3800000000", "\"value\": 1").Replace("\"value\": 1.0,", "\"value\": 1000,");
        Refused(text, "cpi.value", "gives less than one instruction per second", LineOf(text, "\"value\": 1000,"));
    }

    [Fact]
    public void Empty_name()
    {
        string text = P4With("\"name\": \"p4-2006\"", "\"name\": \"\"");
        Refused(text, "name", "must not be empty", 2);
    }

    [Fact]
    public void Malformed_json_reports_line_and_column()
    {
        string text = P4With(ExitIoCycles + ",", ExitIoCycles); // a missing comma
        var e = Refused(text, "costs.ExitIo", "malformed JSON", LineOf(text, "\"source\": \"derived: VT 'in'"));
        Assert.NotNull(e.Column);
        Assert.IsAssignableFrom<System.Text.Json.JsonException>(e.InnerException);
    }

    [Fact]
    public void Truncated_json()
    {
        string text = P4[..(P4.IndexOf("\"ExitIo\"", StringComparison.Ordinal) + 5)];
        var e = Assert.Throws<CostProfileException>(() => Parse(text));
        Assert.Contains("malformed JSON", e.Message);
        Assert.Contains($"{Origin}: costs", e.Message);
    }

    [Fact]
    public void Content_after_the_profile()
    {
        var e = Assert.Throws<CostProfileException>(() => Parse(P4 + "\n{}\n"));
        Assert.Contains("malformed JSON", e.Message);
        Assert.Contains($"(line {P4.Count(c => c == '\n') + 2}, column 1)", e.Message); // P4 ends in a newline, then an empty line, then "{}"
    }

    [Fact]
    public void Root_that_is_not_an_object()
    {
        var e = Assert.Throws<CostProfileException>(() => Parse("[1, 2]"));
        Assert.Equal($"{Origin}: expected an object, got an array (line 1, column 1)", e.Message);
        Assert.Null(e.KeyPath);
    }

    [Fact]
    public void Empty_file()
    {
        var e = Assert.Throws<CostProfileException>(() => Parse(""));
        Assert.StartsWith($"{Origin}: malformed JSON", e.Message);
    }

    [Fact]
    public void Invalid_utf8_in_a_string()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(P4With("\"name\": \"p4-2006\"", "\"name\": \"p4-XX\""));
        int at = Encoding.UTF8.GetString(bytes).IndexOf("XX", StringComparison.Ordinal);
        bytes[at] = 0xC3;
        bytes[at + 1] = 0x28; // not a continuation byte
        var e = Assert.Throws<CostProfileException>(() => CostProfiles.Parse(bytes, Origin));
        Assert.Contains("name", e.Message);
        Assert.Contains("line 2", e.Message);
    }
}
