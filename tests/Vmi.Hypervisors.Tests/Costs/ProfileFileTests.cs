using System.Text;
using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Events;

namespace Vmi.Hypervisors.Tests.Costs;

/// <summary>Profiles from files: a user's own profile round-trips, and every way a name or path can fail says what was tried.</summary>
public sealed class ProfileFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vmi-costs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("p4-2006")]
    [InlineData("core2-2008")]
    [InlineData("modern")]
    public void A_written_profile_loads_back_the_same(string name)
    {
        CostProfile original = CostProfiles.Load(name);
        string path = Path.Combine(_dir, "mine.json");
        File.WriteAllBytes(path, CostProfileWriter.ToJson(original));

        CostProfile loaded = CostProfiles.Load(path);

        Assert.NotSame(original, loaded);
        Assert.Equal(original.Name, loaded.Name);
        Assert.Equal(original.Description, loaded.Description);
        Assert.Equal(original.ClockHz, loaded.ClockHz);
        Assert.Equal(original.ClockSource, loaded.ClockSource);
        Assert.Equal(original.CpiMilli, loaded.CpiMilli);
        Assert.Equal(original.CpiSource, loaded.CpiSource);
        Assert.Equal(original.Table(), loaded.Table());
    }

    [Fact]
    public void A_hand_written_user_file_with_comments_a_bom_and_any_key_case_loads()
    {
        var costs = string.Join(",\n", Enum.GetValues<EventKind>().Select(k =>
            $"    \"{k.ToString().ToLowerInvariant()}\": {{ \"Cycles\": {(int)k * 10}, \"SOURCE\": \"estimate: mine\" }}"));
        string json = $$"""
            // my own machine
            {
              "Name": "mine", "description": "a user's profile",
              "clockHz": { "value": 2000000000, "source": "estimate: my laptop" },
              "CPI": { "value": 0.5, "source": "estimate: measured with perf" },
              "costs": {
            {{costs}}
              }
            }
            """;
        string path = Path.Combine(_dir, "user.json");
        File.WriteAllBytes(path, [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(json)]);

        CostProfile profile = CostProfiles.Load(path);

        Assert.Equal("mine", profile.Name);
        Assert.Equal(500, profile.CpiMilli);
        Assert.Equal(4_000_000_000, profile.TickHz);
        Assert.Equal(20, profile.CostOf(EventKind.TranslatedInstruction)); // its enum value (2) × 10
        Assert.Equal(CostBasis.Estimate, profile.CostFor(EventKind.Hypercall).Basis);
    }

    [Fact]
    public void A_file_error_names_the_file()
    {
        string path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, ProfileText.P4With("\"cycles\": 15825", "\"cycles\": -1"));

        var e = Assert.Throws<CostProfileException>(() => CostProfiles.Load(path));

        Assert.StartsWith($"{path}: costs.ExitIo.cycles: cycles must not be negative, got -1 (line ", e.Message);
        Assert.Equal(path, e.Origin);
    }

    [Fact]
    public void An_unknown_name_lists_what_was_tried_and_the_built_ins()
    {
        var e = Assert.Throws<CostProfileException>(() => CostProfiles.Load("pentium-2006"));

        Assert.StartsWith("pentium-2006: not a built-in profile, and no file ", e.Message);
        Assert.Contains(Path.GetFullPath("pentium-2006"), e.Message);
        Assert.EndsWith("the built-in profiles are p4-2006, core2-2008, modern", e.Message);
    }

    [Fact]
    public void A_missing_file_lists_what_was_tried_and_the_built_ins()
    {
        string path = Path.Combine(_dir, "absent.json");

        var e = Assert.Throws<CostProfileException>(() => CostProfiles.Load(path));

        Assert.Contains($"no file {path} exists", e.Message);
        Assert.Contains("p4-2006, core2-2008, modern", e.Message);
    }

    [Fact]
    public void A_directory_is_not_a_profile() =>
        Assert.Contains("no file", Assert.Throws<CostProfileException>(() => CostProfiles.Load(_dir)).Message);

    [Fact]
    public void An_empty_name_is_refused_with_the_built_ins() =>
        Assert.Contains("p4-2006, core2-2008, modern", Assert.Throws<CostProfileException>(() => CostProfiles.Load("")).Message);

    [Fact]
    public void An_oversized_file_is_refused_unread()
    {
        string path = Path.Combine(_dir, "huge.json");
        File.WriteAllBytes(path, new byte[(1 << 20) + 1]);

        var e = Assert.Throws<CostProfileException>(() => CostProfiles.Load(path));

        Assert.Contains("too large for a cost profile", e.Message);
    }

    [Fact]
    public void Asking_for_the_json_of_an_unknown_built_in_is_a_profile_error() =>
        Assert.Throws<CostProfileException>(() => CostProfiles.BuiltInJson("p5-2026"));
}
